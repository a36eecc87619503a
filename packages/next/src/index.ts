/** @graylane/next — work in progress (second wave). */
export {};
