// The site catalogue: every OVHcloud datacenter and IONOS location a server may be declared at.
// Data only; distances are computed from the coordinates by geo.ts, never typed by hand.
//
// Coordinates are those of the city (or of the datacenter campus where it is well known), to about
// a kilometre: enough for the minimum-distance rule, whose thresholds are tens to hundreds of km.
//
// Sources (public): OVHcloud's datacenter list and its API codes (dedicated server availability
// codes rbx, gra, sbg, waw, lim/fra, eri/lon, bhs, vin, hil, sgp, syd, ynm/mum), OVHcloud's
// public-cloud 3-AZ regions (eu-west-par, eu-south-mil) and its Toronto opening (2023);
// IONOS Cloud's location ids as listed by ionosctl and the ionoscloud Terraform/Pulumi provider
// (de/fra, de/fra/2, de/txl, es/vit, fr/par, gb/lhr, gb/bhx, us/ewr, us/las, us/mci) and the older
// de/fkb (Karlsruhe) location that still hosts IONOS Cloud and dedicated servers.
import type { Provider, Site } from "./types";

function site(
  provider: Provider,
  code: string,
  city: string,
  country: string,
  latitude: number,
  longitude: number,
): Site {
  return Object.freeze({ id: `${provider}:${code}`, provider, code, city, country, latitude, longitude });
}

/** OVHcloud datacenters, by the short code OVHcloud uses for them. */
export const OVH_SITES: readonly Site[] = Object.freeze([
  site("ovh", "rbx", "Roubaix", "FR", 50.6942, 3.1746),
  site("ovh", "gra", "Gravelines", "FR", 50.9871, 2.1255),
  site("ovh", "sbg", "Strasbourg", "FR", 48.5855, 7.7966),
  site("ovh", "par", "Paris", "FR", 48.8566, 2.3522),
  site("ovh", "waw", "Ożarów Mazowiecki", "PL", 52.2106, 20.7972),
  // The "Frankfurt" region of OVHcloud (API code fra) is the Limburg an der Lahn datacenter.
  site("ovh", "lim", "Limburg an der Lahn", "DE", 50.3871, 8.065),
  // The "London" region of OVHcloud (API code lon) is the Erith datacenter.
  site("ovh", "eri", "Erith", "GB", 51.4817, 0.1769),
  site("ovh", "mil", "Milan", "IT", 45.4642, 9.19),
  site("ovh", "bhs", "Beauharnois", "CA", 45.3151, -73.8728),
  site("ovh", "yyz", "Toronto", "CA", 43.6532, -79.3832),
  site("ovh", "vin", "Vint Hill", "US", 38.7479, -77.6733),
  site("ovh", "hil", "Hillsboro", "US", 45.5229, -122.9898),
  site("ovh", "sgp", "Singapore", "SG", 1.3521, 103.8198),
  site("ovh", "syd", "Sydney", "AU", -33.8688, 151.2093),
  site("ovh", "mum", "Mumbai", "IN", 19.076, 72.8777),
]);

/** IONOS locations, by IONOS Cloud location id. */
export const IONOS_SITES: readonly Site[] = Object.freeze([
  site("ionos", "de/fra", "Frankfurt am Main", "DE", 50.1109, 8.6821),
  // A second, separate facility in the Frankfurt metro area: same city, so never a backup of de/fra.
  site("ionos", "de/fra/2", "Frankfurt am Main", "DE", 50.1109, 8.6821),
  site("ionos", "de/txl", "Berlin", "DE", 52.52, 13.405),
  site("ionos", "de/fkb", "Karlsruhe", "DE", 49.0069, 8.4037),
  site("ionos", "fr/par", "Paris", "FR", 48.8566, 2.3522),
  site("ionos", "es/vit", "Logroño", "ES", 42.4627, -2.445),
  site("ionos", "gb/lhr", "London", "GB", 51.5074, -0.1278),
  site("ionos", "gb/bhx", "Worcester", "GB", 52.1936, -2.2216),
  site("ionos", "us/ewr", "Newark", "US", 40.7357, -74.1724),
  site("ionos", "us/las", "Las Vegas", "US", 36.1699, -115.1398),
  site("ionos", "us/mci", "Lenexa", "US", 38.9536, -94.7336),
]);

/** Every site of the catalogue, OVHcloud first. */
export const SITES: readonly Site[] = Object.freeze([...OVH_SITES, ...IONOS_SITES]);

const byId = new Map<string, Site>(SITES.map((s) => [s.id, s]));

/** The site with that catalogue id ("ovh:rbx", "ionos:de/fra"), if any. */
export function siteById(id: string): Site | undefined {
  return byId.get(id);
}

/** The site a provider calls `code` ("rbx" at ovh, "de/fra" at ionos), if any. */
export function findSite(provider: Provider, code: string): Site | undefined {
  return byId.get(`${provider}:${code}`);
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
