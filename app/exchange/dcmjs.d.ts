/** The part of dcmjs 0.52 (no bundled types) that Osteon uses. Datasets are naturalized objects. */
declare module 'dcmjs' {
  type Dataset = Record<string, unknown>;
  interface DicomDict { dict: Dataset; meta: Dataset }
  interface Logger { getLevel(): number; setLevel(level: number | 'silent' | 'error' | 'warn'): void }
  const dcmjs: {
    log: { getLogger(name: string): Logger };
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean }): DicomDict };
      DicomMetaDictionary: { naturalizeDataset(d: Dataset): Dataset; namifyDataset(d: Dataset): Dataset; uid(): string };
      Colors: { rgb2DICOMLAB(rgb: number[]): number[]; dicomlab2RGB(lab: number[]): number[] };
      datasetToBuffer(ds: Dataset): Buffer;
    };
    normalizers: { Normalizer: { normalizeToDataset(datasets: Dataset[]): Dataset | undefined } };
    derivations: {
      Segmentation: new (datasets: Dataset[], options?: { includeSliceSpacing?: boolean }) => {
        dataset: Dataset;
        setNumberOfFrames(n: number): void;
        addSegment(segment: Dataset, pixelData: Uint8Array, referencedFrameNumbers: number[]): void;
        bitPackPixelData(): void;
      };
    };
  };
  export default dcmjs;
}
