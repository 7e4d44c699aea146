// Great-circle distances between sites (haversine formula on a spherical Earth).
// The error of the spherical model (< 0.5 %) is far below what the distance rule needs.
import type { Site } from "./types";

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;

export interface LatLon {
  latitude: number;
  longitude: number;
}

const rad = (deg: number): number => (deg * Math.PI) / 180;

/** Great-circle distance in km between two points given in decimal degrees. */
export function haversineKm(a: LatLon, b: LatLon): number {
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Distance in km between two sites; 0 for the same site. */
export function distanceKm(a: Site, b: Site): number {
  if (a.id === b.id) return 0;
  return haversineKm(a, b);
}

const norm = (s: string): string => s.normalize("NFC").trim().toLowerCase();
const cityKeys = new WeakMap<Site, string>();
function cityKey(s: Site): string {
  let k = cityKeys.get(s);
  if (k === undefined) cityKeys.set(s, (k = `${norm(s.city)}\u0000${norm(s.country)}`));
  return k;
}

/** Same city (and country): two providers' datacenters in one city share its risks (flood, grid, fire). */
export function sameCity(a: Site, b: Site): boolean {
  return cityKey(a) === cityKey(b);
}

/** The point at `distance` km due north of `from` (used to build sites at an exact distance). */
export function pointNorthOf(from: LatLon, distance: number): LatLon {
  return { latitude: from.latitude + (distance / EARTH_RADIUS_KM) * (180 / Math.PI), longitude: from.longitude };
}
