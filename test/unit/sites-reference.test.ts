// The site catalogue against an independent reference table: every site within 15 km of the town
// of its datacenter, as given by the cited public sources (coordinates of the town's infobox on
// Wikipedia, degrees-minutes-seconds converted), and every site with a source in the data.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { haversineKm } from "../../infra/model/geo";
import { IONOS_SITE_ENTRIES, OVH_SITE_ALIASES, OVH_SITE_ENTRIES, SITES, findSite, siteCodesOf } from "../../infra/model/sites";
import { ovhSiteCode } from "../../infra/providers/ovh";

interface Reference {
  town: string;
  latitude: number;
  longitude: number;
  /** Where the datacenter's town is stated, and where the town's coordinates come from. */
  source: string;
}

const W = "https://en.wikipedia.org/wiki/";
const OVH = "OVHcloud global infrastructure, https://www.ovhcloud.com/en/about-us/global-infrastructure/";
const IONOS = "IONOS Cloud data centers, https://docs.ionos.com/cloud/set-up-ionos-cloud/data-centers";

/** By catalogue id. */
const REFERENCE: Record<string, Reference> = {
  "ovh:rbx": { town: "Roubaix", latitude: 50.69, longitude: 3.1817, source: `${OVH}; ${W}Roubaix (50°41′24″N 3°10′54″E)` },
  "ovh:gra": { town: "Gravelines", latitude: 50.9869, longitude: 2.1283, source: `${OVH}; ${W}Gravelines (50°59′13″N 2°07′42″E)` },
  "ovh:sbg": { town: "Strasbourg", latitude: 48.5833, longitude: 7.7458, source: `${OVH}; ${W}Strasbourg (48°35′N 7°44′45″E)` },
  "ovh:par": { town: "Paris", latitude: 48.8567, longitude: 2.3522, source: `${OVH}; ${W}Paris (48°51′24″N 2°21′08″E)` },
  "ovh:waw": { town: "Ożarów Mazowiecki", latitude: 52.2, longitude: 20.8, source: `${OVH} (Warsaw datacenter at Ożarów Mazowiecki); ${W}Ożarów_Mazowiecki (52°12′N 20°48′E)` },
  "ovh:lim": { town: "Limburg an der Lahn", latitude: 50.3833, longitude: 8.0667, source: `${OVH} (Frankfurt region, Limburg); ${W}Limburg_an_der_Lahn (50°23′N 8°04′E)` },
  "ovh:eri": { town: "Erith", latitude: 51.48, longitude: 0.1778, source: `${OVH} (London region, Erith); ${W}Erith (51°28′48″N 0°10′40″E)` },
  "ovh:mil": { town: "Milan", latitude: 45.4669, longitude: 9.19, source: `${OVH}; ${W}Milan (45°28′01″N 9°11′24″E)` },
  "ovh:bhs": { town: "Beauharnois", latitude: 45.3167, longitude: -73.8667, source: `${OVH}; ${W}Beauharnois,_Quebec (45°19′N 73°52′W)` },
  "ovh:yyz": { town: "Cambridge, Ontario", latitude: 43.3606, longitude: -80.3122, source: `${OVH} (Toronto region: Cambridge, Ontario); ${W}Cambridge,_Ontario (43°21′38″N 80°18′44″W)` },
  "ovh:vin": { town: "Vint Hill, Virginia", latitude: 38.75, longitude: -77.6667, source: `${OVH}; ${W}Vint_Hill_Farms_Station (38°45′N 77°40′W)` },
  "ovh:hil": { town: "Hillsboro, Oregon", latitude: 45.5228, longitude: -122.9894, source: `${OVH}; ${W}Hillsboro,_Oregon (45°31′22″N 122°59′22″W)` },
  "ovh:sgp": { town: "Singapore", latitude: 1.2833, longitude: 103.8333, source: `${OVH}; ${W}Singapore (1°17′N 103°50′E)` },
  "ovh:syd": { town: "Sydney", latitude: -33.8678, longitude: 151.21, source: `${OVH}; ${W}Sydney (33°52′04″S 151°12′36″E)` },
  "ovh:mum": { town: "Panvel", latitude: 18.9833, longitude: 73.1167, source: `${OVH} (Mumbai region: Yotta NM1, Panvel); ${W}Panvel (18°59′N 73°07′E)` },
  "ionos:de/fra": { town: "Frankfurt am Main", latitude: 50.1117, longitude: 8.6822, source: `${IONOS}; ${W}Frankfurt (50°06′42″N 8°40′56″E)` },
  "ionos:de/fra/2": { town: "Frankfurt am Main", latitude: 50.1117, longitude: 8.6822, source: `${IONOS}; ${W}Frankfurt (50°06′42″N 8°40′56″E)` },
  "ionos:de/txl": { town: "Berlin", latitude: 52.52, longitude: 13.405, source: `${IONOS}; ${W}Berlin (52°31′12″N 13°24′18″E)` },
  "ionos:de/fkb": { town: "Karlsruhe", latitude: 49.0092, longitude: 8.4039, source: `${IONOS}; ${W}Karlsruhe (49°00′33″N 8°24′14″E)` },
  "ionos:fr/par": { town: "Paris", latitude: 48.8567, longitude: 2.3522, source: `${IONOS}; ${W}Paris (48°51′24″N 2°21′08″E)` },
  "ionos:es/vit": { town: "Logroño", latitude: 42.4667, longitude: -2.45, source: `${IONOS} (Logroño); ${W}Logroño (42°28′N 2°27′W)` },
  "ionos:gb/lhr": { town: "London", latitude: 51.5072, longitude: -0.1275, source: `${IONOS}; ${W}London (51°30′26″N 0°07′39″W)` },
  "ionos:gb/bhx": { town: "Worcester", latitude: 52.1911, longitude: -2.22, source: `${IONOS} (Worcester); ${W}Worcester,_England (52°11′28″N 2°13′12″W)` },
  "ionos:us/ewr": { town: "Newark, New Jersey", latitude: 40.7333, longitude: -74.1667, source: `${IONOS}; ${W}Newark,_New_Jersey (40°44′N 74°10′W)` },
  "ionos:us/las": { town: "Las Vegas", latitude: 36.175, longitude: -115.1364, source: `${IONOS}; ${W}Las_Vegas (36°10′30″N 115°08′11″W)` },
  "ionos:us/mci": { town: "Lenexa, Kansas", latitude: 38.9667, longitude: -94.7333, source: `${IONOS}; ${W}Lenexa,_Kansas (38°58′N 94°44′W)` },
};

const TOLERANCE_KM = 15;

describe("site catalogue vs reference table", () => {
  it("every catalogue site has a reference entry and every reference a site", () => {
    assert.deepEqual(SITES.map((s) => s.id).sort(), Object.keys(REFERENCE).sort());
  });

  for (const s of SITES) {
    it(`${s.id} (${s.city}) is within ${TOLERANCE_KM} km of ${REFERENCE[s.id]?.town ?? "?"}`, () => {
      const ref = REFERENCE[s.id];
      assert.ok(ref, `no reference for ${s.id}`);
      const d = haversineKm(s, ref);
      assert.ok(d <= TOLERANCE_KM, `${s.id} is ${d.toFixed(1)} km from ${ref.town} (${ref.source})`);
    });
  }

  it("the tolerance catches a site placed at the city a region is named after, not its datacenter's town", () => {
    const toronto = { latitude: 43.6532, longitude: -79.3832 };
    const mumbai = { latitude: 19.076, longitude: 72.8777 };
    assert.ok(haversineKm(toronto, REFERENCE["ovh:yyz"]!) > TOLERANCE_KM * 4);
    assert.ok(haversineKm(mumbai, REFERENCE["ovh:mum"]!) > TOLERANCE_KM);
  });

  it("every entry of the catalogue cites the source of its town and coordinates", () => {
    for (const e of [...OVH_SITE_ENTRIES, ...IONOS_SITE_ENTRIES]) {
      assert.match(e.source, /https:\/\/\S+ .*https:\/\/en\.wikipedia\.org\/wiki\/\S+/, e.site.id);
    }
    for (const r of Object.values(REFERENCE)) assert.match(r.source, /https:\/\/.*\(\d+°/, r.town);
  });

  it("OVHcloud's alternative codes are accepted as aliases of their datacenter, for configs and API answers", () => {
    for (const [alias, code] of Object.entries(OVH_SITE_ALIASES)) {
      assert.equal(findSite("ovh", alias)?.code, code, alias);
      assert.equal(ovhSiteCode(`${alias}1`), code, `${alias}1 from the API`);
      assert.ok(siteCodesOf("ovh").includes(`${code} (${alias}`), siteCodesOf("ovh"));
    }
    assert.equal(findSite("ionos", "fra"), undefined, "aliases are OVHcloud's");
    assert.equal(findSite("ovh", "constructor"), undefined);
    assert.equal(findSite("ovh", "__proto__"), undefined);
  });
});
