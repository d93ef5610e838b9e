/**
 * xmpp.js 0.14.0 drops its parser when the server's </stream> is late (its 2 s close timeout, easily
 * reached when a server restarts or many clients stop at once) but reads on until the socket closes:
 * data arriving then throws in the socket's data handler ("Cannot read properties of null (reading
 * 'write')") and ends the process. Nothing is left to parse that data, so it is dropped.
 */
import type { XmppClient } from "../xmpp.ts";

export function dropDataWithoutParser(client: XmppClient): void {
  const onData = client._onData.bind(client);
  client._onData = (data) => {
    if (client.parser) onData(data);
  };
}
