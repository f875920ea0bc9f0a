import { expect, it } from "vitest";
it("executor project runs", () => expect(1).toBe(1));
