/** @graylane/openfeature — work in progress (second wave). */
export {};
