// node relay.mjs TARGET_PORT STATS_FILE [WATCH_JID]: a loopback TCP relay between a bot and the test
// server, in its own process so the crowd in the test process cannot slow it (a relay that reads
// late makes Prosody buffer and stall). Counts the bot's subscription answers and timestamps its
// messages with WATCH_JID both ways, to tell the bot's response time from the server's. Prints
// "listening PORT"; writes STATS_FILE (JSON) every 100 ms and on SIGTERM.
import { writeFileSync } from "node:fs";
import net from "node:net";

const [targetPort, statsFile, watch = ""] = process.argv.slice(2);
const stats = { answers: { subscribed: 0, unsubscribed: 0 }, watchIn: [], watchOut: [] };
const escaped = watch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Calls `onTag` for each complete start tag matching `re` in a byte stream split into chunks. */
function scanner(re, onTag) {
  let tail = "";
  return (chunk) => {
    const text = tail + chunk.toString("latin1");
    re.lastIndex = 0;
    let m;
    let consumed = 0;
    while ((m = re.exec(text))) {
      onTag(m);
      consumed = m.index + m[0].length;
    }
    const open = text.lastIndexOf("<");
    tail = text.slice(Math.max(consumed, open === -1 ? text.length : open)).slice(-8192);
  };
}

const server = net.createServer((bot) => {
  const upstream = net.connect(Number(targetPort), "127.0.0.1");
  bot.setNoDelay(true);
  upstream.setNoDelay(true);
  const fromBot = scanner(/<(presence|message)\b[^>]*>/g, (m) => {
    const tag = m[0];
    if (m[1] === "presence") {
      const type = /\btype=["'](subscribed|unsubscribed)["']/.exec(tag);
      if (type) stats.answers[type[1]]++;
    } else if (watch && new RegExp(`\\bto=["']${escaped}[/"']`).test(tag)) {
      stats.watchOut.push(Date.now());
    }
  });
  const toBot = watch
    ? scanner(/<message\b[^>]*>/g, (m) => {
        if (new RegExp(`\\bfrom=["']${escaped}[/"']`).test(m[0])) stats.watchIn.push(Date.now());
      })
    : () => {};
  bot.on("data", (chunk) => {
    fromBot(chunk);
    if (!upstream.write(chunk)) bot.pause();
  });
  upstream.on("drain", () => bot.resume());
  upstream.on("data", (chunk) => {
    toBot(chunk);
    if (!bot.write(chunk)) upstream.pause();
  });
  bot.on("drain", () => upstream.resume());
  const close = () => {
    bot.destroy();
    upstream.destroy();
  };
  bot.on("error", close).on("close", close);
  upstream.on("error", close).on("close", close);
});

const save = () => writeFileSync(statsFile, JSON.stringify(stats));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
setInterval(save, 100).unref();
process.on("SIGTERM", () => {
  save();
  process.exit(0);
});
