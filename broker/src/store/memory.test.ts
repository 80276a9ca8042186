import { storeContract } from "./contract.ts";
import { MemoryStore } from "./index.ts";

storeContract("memory", () => new MemoryStore());
