// xmpp.js ships no type declarations. Only bots/xmpp.ts and bots/xmpp-client.ts import it, and type what they use,
// so that neither the code nor the published declarations depend on these untyped modules.
declare module "@xmpp/client";
declare module "@xmpp/debug";
declare module "@xmpp/xml";
