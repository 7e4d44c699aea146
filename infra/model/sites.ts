// The site catalogue: every OVHcloud datacenter and IONOS location a server may be declared at.
// Data only; distances are computed from the coordinates by geo.ts, never typed by hand.
//
// Each site sits at the town of its datacenter (not at the city the provider names the region
// after): OVHcloud "Toronto" is in Cambridge, Ontario; "Mumbai" in Panvel (Navi Mumbai); "Frankfurt"
// in Limburg an der Lahn; "London" in Erith. Coordinates are the town's (to about a kilometre, from
// the cited source): enough for the minimum-distance rule, whose thresholds are tens to hundreds of
// km. test/unit/sites-reference.test.ts holds every site within 15 km of an independent reference table.
//
// Codes: OVHcloud's short datacenter codes; OVHcloud's API and order forms also use other codes
// for some of them (fra, lon, ynm, tor), accepted as aliases. IONOS Cloud's location ids as listed
// by ionosctl and the ionoscloud Terraform/Pulumi provider, plus de/fkb (Karlsruhe).
import type { Provider, Site } from "./types";

/** One catalogue entry: the site and where its town and coordinates come from. */
export interface SiteEntry {
  site: Site;
  /** The datacenter's town and the source of its coordinates. */
  source: string;
}

const OVH_DC = "https://www.ovhcloud.com/en/about-us/global-infrastructure/";
const IONOS_DC = "https://docs.ionos.com/cloud/set-up-ionos-cloud/data-centers";
const wiki = (page: string): string => `https://en.wikipedia.org/wiki/${page}`;

function entry(
  provider: Provider,
  code: string,
  city: string,
  country: string,
  latitude: number,
  longitude: number,
  source: string,
): SiteEntry {
  return Object.freeze({
    site: Object.freeze({ id: `${provider}:${code}`, provider, code, city, country, latitude, longitude }),
    source,
  });
}

/** OVHcloud datacenters, by the short code OVHcloud uses for them. */
export const OVH_SITE_ENTRIES: readonly SiteEntry[] = Object.freeze([
  entry("ovh", "rbx", "Roubaix", "FR", 50.6942, 3.1746, `${OVH_DC} (Roubaix); ${wiki("Roubaix")}`),
  entry("ovh", "gra", "Gravelines", "FR", 50.9871, 2.1255, `${OVH_DC} (Gravelines); ${wiki("Gravelines")}`),
  entry("ovh", "sbg", "Strasbourg", "FR", 48.5855, 7.7966, `${OVH_DC} (Strasbourg, Port du Rhin); ${wiki("Strasbourg")}`),
  entry("ovh", "par", "Paris", "FR", 48.8566, 2.3522, `${OVH_DC} (Paris region eu-west-par); ${wiki("Paris")}`),
  entry("ovh", "waw", "Ożarów Mazowiecki", "PL", 52.2106, 20.7972, `${OVH_DC} (Warsaw: Ożarów Mazowiecki); ${wiki("Ożarów_Mazowiecki")}`),
  entry("ovh", "lim", "Limburg an der Lahn", "DE", 50.3871, 8.065, `${OVH_DC} (Frankfurt region: Limburg); ${wiki("Limburg_an_der_Lahn")}`),
  entry("ovh", "eri", "Erith", "GB", 51.4817, 0.1769, `${OVH_DC} (London region: Erith); ${wiki("Erith")}`),
  entry("ovh", "mil", "Milan", "IT", 45.4642, 9.19, `${OVH_DC} (Milan region eu-south-mil); ${wiki("Milan")}`),
  entry("ovh", "bhs", "Beauharnois", "CA", 45.3151, -73.8728, `${OVH_DC} (Beauharnois); ${wiki("Beauharnois,_Quebec")}`),
  entry("ovh", "yyz", "Cambridge", "CA", 43.3616, -80.3144, `${OVH_DC} (Toronto region: the datacenter is in Cambridge, Ontario, opened 2023); ${wiki("Cambridge,_Ontario")}`),
  entry("ovh", "vin", "Vint Hill", "US", 38.7479, -77.6733, `${OVH_DC} (Vint Hill, Virginia); ${wiki("Vint_Hill,_Virginia")}`),
  entry("ovh", "hil", "Hillsboro", "US", 45.5229, -122.9898, `${OVH_DC} (Hillsboro, Oregon); ${wiki("Hillsboro,_Oregon")}`),
  entry("ovh", "sgp", "Singapore", "SG", 1.3521, 103.8198, `${OVH_DC} (Singapore); ${wiki("Singapore")}`),
  entry("ovh", "syd", "Sydney", "AU", -33.8688, 151.2093, `${OVH_DC} (Sydney); ${wiki("Sydney")}`),
  entry("ovh", "mum", "Panvel", "IN", 18.9894, 73.1175, `${OVH_DC} (Mumbai region: the datacenter is in Panvel, Navi Mumbai); ${wiki("Panvel")}`),
]);

/** OVHcloud's other codes for some datacenters (API availabilities, order forms) → catalogue code. */
export const OVH_SITE_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  fra: "lim",
  lon: "eri",
  ynm: "mum",
  tor: "yyz",
});

/** IONOS locations, by IONOS Cloud location id. */
export const IONOS_SITE_ENTRIES: readonly SiteEntry[] = Object.freeze([
  entry("ionos", "de/fra", "Frankfurt am Main", "DE", 50.1109, 8.6821, `${IONOS_DC} (de/fra); ${wiki("Frankfurt")}`),
  // A second, separate facility in the Frankfurt metro area: same city, so never a backup of de/fra.
  entry("ionos", "de/fra/2", "Frankfurt am Main", "DE", 50.1109, 8.6821, `${IONOS_DC} (de/fra/2); ${wiki("Frankfurt")}`),
  entry("ionos", "de/txl", "Berlin", "DE", 52.52, 13.405, `${IONOS_DC} (de/txl); ${wiki("Berlin")}`),
  entry("ionos", "de/fkb", "Karlsruhe", "DE", 49.0069, 8.4037, `${IONOS_DC} (de/fkb); ${wiki("Karlsruhe")}`),
  entry("ionos", "fr/par", "Paris", "FR", 48.8566, 2.3522, `${IONOS_DC} (fr/par); ${wiki("Paris")}`),
  entry("ionos", "es/vit", "Logroño", "ES", 42.4627, -2.445, `${IONOS_DC} (es/vit: Logroño); ${wiki("Logroño")}`),
  entry("ionos", "gb/lhr", "London", "GB", 51.5074, -0.1278, `${IONOS_DC} (gb/lhr); ${wiki("London")}`),
  entry("ionos", "gb/bhx", "Worcester", "GB", 52.1936, -2.2216, `${IONOS_DC} (gb/bhx: Worcester); ${wiki("Worcester,_England")}`),
  entry("ionos", "us/ewr", "Newark", "US", 40.7357, -74.1724, `${IONOS_DC} (us/ewr); ${wiki("Newark,_New_Jersey")}`),
  entry("ionos", "us/las", "Las Vegas", "US", 36.1699, -115.1398, `${IONOS_DC} (us/las); ${wiki("Las_Vegas")}`),
  entry("ionos", "us/mci", "Lenexa", "US", 38.9536, -94.7336, `${IONOS_DC} (us/mci: Lenexa, Kansas); ${wiki("Lenexa,_Kansas")}`),
]);

export const OVH_SITES: readonly Site[] = Object.freeze(OVH_SITE_ENTRIES.map((e) => e.site));
export const IONOS_SITES: readonly Site[] = Object.freeze(IONOS_SITE_ENTRIES.map((e) => e.site));

/** Every site of the catalogue, OVHcloud first. */
export const SITES: readonly Site[] = Object.freeze([...OVH_SITES, ...IONOS_SITES]);

const byId = new Map<string, Site>(SITES.map((s) => [s.id, s]));

/** The site with that catalogue id ("ovh:rbx", "ionos:de/fra"), if any. */
export function siteById(id: string): Site | undefined {
  return byId.get(id);
}

/** The catalogue code of a provider's code or alias ("fra" at ovh → "lim"). */
export function canonicalSiteCode(provider: Provider, code: string): string {
  return provider === "ovh" && Object.prototype.hasOwnProperty.call(OVH_SITE_ALIASES, code) ? OVH_SITE_ALIASES[code]! : code;
}

/** The site a provider calls `code` ("rbx" or its alias at ovh, "de/fra" at ionos), if any. */
export function findSite(provider: Provider, code: string): Site | undefined {
  return byId.get(`${provider}:${canonicalSiteCode(provider, code)}`);
}

/** The accepted codes of a provider, aliases in parentheses: "rbx, …, lim (fra), eri (lon), …". */
export function siteCodesOf(provider: Provider): string {
  const aliases = new Map<string, string[]>();
  if (provider === "ovh") for (const [a, c] of Object.entries(OVH_SITE_ALIASES)) aliases.set(c, [...(aliases.get(c) ?? []), a]);
  return sitesOf(provider)
    .map((s) => (aliases.has(s.code) ? `${s.code} (${aliases.get(s.code)!.join(", ")})` : s.code))
    .join(", ");
}

/** Sites of every provider whose code is `code` (to explain a provider/site mismatch). */
export function sitesWithCode(code: string): Site[] {
  return SITES.filter((s) => s.code === code);
}

/** The sites of one provider, in catalogue order. */
export function sitesOf(provider: Provider): Site[] {
  return SITES.filter((s) => s.provider === provider);
}

/** "Roubaix, FR" */
export function describeSite(s: Site): string {
  return `${s.city}, ${s.country}`;
}
