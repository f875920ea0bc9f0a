import { CooldownCleared, CooldownList } from "@vault-mcp/contract";
import { noPositionals, parseFlags, profile, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { table } from "../format.ts";

export const cooldowns: Command = {
  name: "cooldowns",
  summary: "Show which profiles the ladder passes over after repeated failures; clear one.",
  about: `A profile with three failed model runs in a row cools down for 30 minutes: the ladder passes over
it (a profile someone names still runs). Setup problems (a missing key or CLI) never count. --clear
ends a cooldown now, e.g. after fixing the cause.`,
  usage: ["cooldowns [--json]", "cooldowns --clear <profile> [--json]"],
  flags: `  --clear <profile>  end this profile's cooldown now (its statistics stay)
  --json             the API's answer as JSON`,
  examples: ["vault cooldowns", "vault cooldowns --clear sonnet"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { clear: { type: "string" }, json: { type: "boolean" } });
    noPositionals(positionals);
    const api = connect(values, io);
    if (values.clear !== undefined) {
      const p = profile("--clear", values.clear);
      if (!p) throw new UsageError("--clear takes a profile name");
      const done = await api.request("DELETE", `/api/cooldowns/${p}`, CooldownCleared);
      if (values.json) io.out(JSON.stringify(done, null, 2));
      else io.out(done.cleared ? `${p}: cooldown cleared; the ladder tries it again` : `${p} was not cooling down`);
      return 0;
    }
    const list = await api.get("/api/cooldowns", CooldownList);
    if (values.json) io.out(JSON.stringify(list, null, 2));
    else if (list.cooldowns.length === 0) io.out("no profile is cooling down");
    else
      io.out(
        table(
          ["PROFILE", "UNTIL (UTC)", "FAILURES IN A ROW"],
          list.cooldowns.map((c) => [
            c.profile,
            new Date(c.until).toISOString().slice(11, 16),
            String(c.consecutiveFailures),
          ]),
          [2],
        ),
      );
    return 0;
  },
};
