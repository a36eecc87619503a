/** @graylane/react — work in progress (second wave). */
export {};
