/** @graylane/queue — work in progress (second wave). */
export {};
