CREATE TABLE "login_failures" (
	"account" text PRIMARY KEY NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"last_failure_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "feedback_api_key_id" uuid;
--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "feedback_role" text;
--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_feedback_api_key_id_api_keys_id_fk" FOREIGN KEY ("feedback_api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
-- Feedback given before roles were recorded: the giver's current role is the best evidence left.
UPDATE "predictions" SET "feedback_role" = "users"."role" FROM "users" WHERE "predictions"."feedback_by" = "users"."id" AND "predictions"."feedback_role" IS NULL;
--> statement-breakpoint
-- API keys never carry admin (SECURITY.md): existing admin keys keep working as operators.
UPDATE "api_keys" SET "role" = 'operator' WHERE "role" = 'admin';
