/**
 * Where model artefacts live, after Triton's model repository: `<name>/<version>/` holds the
 * manifest, head weights and model card; backbones live once under `backbones/`.
 */
export interface ModelStore {
  readonly kind: 'fs' | 's3';
  /** A local folder with the artefact's files (remote stores download into a local cache). */
  localDir(name: string, version: number): Promise<string>;
  /** Publishes a finished artefact folder; a half-written version is never visible. */
  put(name: string, version: number, fromDir: string): Promise<void>;
  has(name: string, version: number): Promise<boolean>;
  /** The local folder for backbone ONNX files (built on each machine from npm packages). */
  backbonesDir(): string;
  ping(): Promise<void>;
}
