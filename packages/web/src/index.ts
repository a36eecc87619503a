/** @graylane/web — work in progress (second wave). */
export {};
