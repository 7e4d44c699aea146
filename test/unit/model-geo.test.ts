// The site catalogue and distances.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { distanceKm, EARTH_RADIUS_KM, haversineKm, pointNorthOf, sameCity } from "../../infra/model/geo";
import { findSite, IONOS_SITES, OVH_SITES, SITES, siteById, sitesOf, sitesWithCode } from "../../infra/model/sites";
import { catalogueSite } from "../support/topology";

describe("site catalogue", () => {
  it("has every OVHcloud datacenter and IONOS location the procedure names", () => {
    for (const code of ["rbx", "gra", "sbg", "par", "waw", "lim", "eri", "bhs", "yyz", "vin", "hil", "sgp", "syd", "mum"]) {
      assert.ok(findSite("ovh", code), `ovh ${code}`);
    }
    for (const code of ["de/fra", "de/fra/2", "de/txl", "fr/par", "es/vit", "gb/lhr", "gb/bhx", "us/las", "us/ewr", "us/mci"]) {
      assert.ok(findSite("ionos", code), `ionos ${code}`);
    }
    assert.equal(SITES.length, OVH_SITES.length + IONOS_SITES.length);
  });
  it("has unique ids, consistent fields and plausible coordinates", () => {
    assert.equal(new Set(SITES.map((s) => s.id)).size, SITES.length);
    for (const s of SITES) {
      assert.equal(s.id, `${s.provider}:${s.code}`);
      assert.match(s.country, /^[A-Z]{2}$/);
      assert.ok(s.city.length > 0);
      assert.ok(Math.abs(s.latitude) <= 90 && Math.abs(s.longitude) <= 180, s.id);
      assert.equal(siteById(s.id), s);
    }
    assert.ok(Object.isFrozen(SITES[0]));
  });
  it("finds sites by provider and code, not across providers", () => {
    assert.equal(findSite("ovh", "rbx")?.city, "Roubaix");
    assert.equal(findSite("ovh", "de/fra"), undefined);
    assert.deepEqual(sitesWithCode("de/fra").map((s) => s.id), ["ionos:de/fra"]);
    assert.ok(sitesOf("ionos").every((s) => s.provider === "ionos"));
  });
});

describe("distances", () => {
  it("haversine of known city pairs (±1 %)", () => {
    const paris = { latitude: 48.8566, longitude: 2.3522 };
    const london = { latitude: 51.5074, longitude: -0.1278 };
    assert.ok(Math.abs(haversineKm(paris, london) - 343.5) < 3.5, String(haversineKm(paris, london)));
    // a quarter of a meridian
    assert.ok(Math.abs(haversineKm({ latitude: 0, longitude: 0 }, { latitude: 90, longitude: 0 }) - (Math.PI / 2) * EARTH_RADIUS_KM) < 1e-6);
  });
  it("catalogue distances: the 2021 fire lesson (Roubaix–Gravelines is under 100 km)", () => {
    const rbxGra = distanceKm(catalogueSite("ovh:rbx"), catalogueSite("ovh:gra"));
    const rbxSbg = distanceKm(catalogueSite("ovh:rbx"), catalogueSite("ovh:sbg"));
    const fraLim = distanceKm(catalogueSite("ionos:de/fra"), catalogueSite("ovh:lim"));
    assert.ok(rbxGra > 60 && rbxGra < 90, String(rbxGra));
    assert.ok(rbxSbg > 380 && rbxSbg < 430, String(rbxSbg));
    assert.ok(fraLim > 40 && fraLim < 70, String(fraLim));
  });
  it("is symmetric, zero for the same site", () => {
    const a = catalogueSite("ovh:waw");
    const b = catalogueSite("ionos:es/vit");
    assert.equal(distanceKm(a, b), distanceKm(b, a));
    assert.equal(distanceKm(a, a), 0);
  });
  it("pointNorthOf gives exact distances", () => {
    const from = { latitude: 45, longitude: 5 };
    for (const d of [1, 100, 250.5]) assert.ok(Math.abs(haversineKm(from, pointNorthOf(from, d)) - d) < 1e-9);
  });
  it("sameCity compares city and country", () => {
    assert.ok(sameCity(catalogueSite("ovh:par"), catalogueSite("ionos:fr/par")));
    assert.ok(sameCity(catalogueSite("ionos:de/fra"), catalogueSite("ionos:de/fra/2")));
    assert.ok(!sameCity(catalogueSite("ovh:eri"), catalogueSite("ionos:gb/lhr")));
  });
});
