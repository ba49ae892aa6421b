// Addresses as they appear in URLs: telling an IP address from a name, and bracketing IPv6 hosts.
// Shared by config validation and by the programs that build peer and client URLs.

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** An IPv4 address, or an IPv6 one (loosely), as advertised in URLs. */
export function isIp(v: string): boolean {
  return ipv4.test(v) || (/^[0-9a-fA-F:]+$/.test(v) && v.includes(':'));
}

/** The host part of a URL: an IPv6 address in brackets, anything else as it is. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
