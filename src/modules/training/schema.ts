import { Type } from 'typebox';
import { MIN_NEW_CLASS_IMAGES } from './feedback.ts';

export const Accepted = Type.Object({
  task_id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  state: Type.String(),
  task_url: Type.String({ description: 'The task; also the Location header' }),
});
export const FeedbackSummarySchema = Type.Object(
  {
    labels: Type.Integer({
      description: 'Images with a trusted label: one the model knows, or a new class',
    }),
    by_role: Type.Record(Type.String(), Type.Integer()),
    by_giver: Type.Array(
      Type.Object({
        user_id: Type.Union([Type.String(), Type.Null()]),
        api_key_id: Type.Union([Type.String(), Type.Null()]),
        role: Type.Union([Type.String(), Type.Null()]),
        labels: Type.Integer(),
      }),
    ),
    untrusted_ignored: Type.Integer({ description: 'Labels left out: their giver is not trusted' }),
    new_classes: Type.Record(Type.String(), Type.Integer(), {
      description:
        'Labels the model does not know, with their images: retraining adds them as classes',
    }),
    new_classes_too_small: Type.Record(Type.String(), Type.Integer(), {
      description: `New-class labels left out for having fewer than ${MIN_NEW_CLASS_IMAGES} images`,
    }),
  },
  { description: 'How many feedback labels retraining uses, and who gave them' },
);
