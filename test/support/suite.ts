import { describe, test } from 'node:test';

/**
 * `describe`, except that a skipped suite shows as one skipped test with its reason: Node 20's
 * runner leaves a skipped `describe` out of the output and of the summary's skipped count.
 */
export function suite(
  name: string,
  options: { skip?: string | boolean; timeout?: number },
  fn: () => void,
): void {
  if (options.skip) test(name, { skip: options.skip }, () => {});
  else describe(name, options, fn);
}
