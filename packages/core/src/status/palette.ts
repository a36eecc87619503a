/**
 * Chart colors, in the order versions are listed (configured versions first). The Okabe–Ito
 * palette: distinguishable with the common forms of color blindness.
 */
export const STATUS_PALETTE: readonly string[] = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#999999',
];

/** The color of the `index`-th version. */
export function paletteColor(index: number): string {
  return STATUS_PALETTE[index % STATUS_PALETTE.length] ?? '#999999';
}
