// xmpp.js ships no type declarations. Only bots/xmpp.ts imports it, and types what it uses there,
// so that neither the code nor the published declarations depend on these untyped modules.
declare module "@xmpp/client";
declare module "@xmpp/debug";
