/** @causeway/lighthouse — a stub until its issue. */
export {};
