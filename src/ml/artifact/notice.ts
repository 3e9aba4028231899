// License texts that must travel with models trained on third-party data.
export const F4K_NOTICE = `## Fish4Knowledge data notice

This model was trained on a subset of the **Fish4Knowledge (F4K) Fish Recognition Ground-Truth**
data set (Phoenix X. Huang, Bastiaan B. Boom and Robert B. Fisher, University of Edinburgh).
The F4K ground-truth page states:

> Permission is granted for anyone to copy, use, modify, or distribute this data and
> accompanying documents for any purpose, provided this copyright notice is retained and
> prominently displayed, along with a note saying that the original data are available
> from our web page and refering to [the ICPR 2012 paper below]. The data and documents
> are distributed without any warranty, express or implied. As the data were acquired for
> research purposes only, they have not been tested to the degree that would be advisable
> in any important application. All use of these data is entirely at the user's own risk.

The original data are available from
https://homepages.inf.ed.ac.uk/rbf/Fish4Knowledge/GROUNDTRUTH/RECOG/ .

Citation: B. J. Boom, P. X. Huang, J. He, R. B. Fisher, "Supporting Ground-Truth annotation of
image datasets using clustering", 21st Int. Conf. on Pattern Recognition (ICPR), 2012.
`;

export const BACKBONE_NOTICE = `The image backbone is MobileNetV2 (Sandler et al., 2018) as bundled by the \`nsfwjs\` npm
package (MIT license), converted to ONNX by AquaML at first use; its later blocks were fine-tuned
by nsfwjs on unrelated data, so the model uses pooled intermediate features.`;
