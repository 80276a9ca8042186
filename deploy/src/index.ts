/** @causeway/deploy — a stub until its issue. */
export {};
