/**
 * A deterministic generator of pump sensor data in the seed's CSV format.
 *
 * Same options, same lines, on any machine: all randomness comes from seeded mulberry32 streams. Lines come out in
 * time order across pumps, interleaved like a live feed. Each pump reports every 1 or 2 minutes; its six measures
 * wander around per-pump operating levels inside the seed's ranges. A few times per pump-week the pump fails for
 * 30–180 minutes — hz, disp, flo and psi read 0 while sedPPM and chlPPM keep reporting — and now and then a single
 * reading shows a low-pressure blip (psi 1–4). Both trip the default `psi < 5` alert.
 *
 * Flow and displacement follow a daily demand cycle on every pump (peak at the pump's operating level in the
 * afternoon, a trough 8–20 % lower at night) while pressure and frequency stay flat around their levels.
 *
 * Some pumps (`degradingShare`, 25 % by default) degrade before one failure — a slow pressure sag over 12–48 h, a step
 * down in pressure of 20–70 % 2–12 h before the failure, or a drift down in displacement over 12–48 h — and then stay
 * down 6–24 h until repaired. {@link degradationEpisodes} gives the ground truth (pump, kind, start, failure time);
 * it comes from its own random stream, so it is known without generating the readings. The other pumps are healthy:
 * noise, the daily cycle, the sudden failures and blips above, nothing else.
 *
 * Malformed lines (for demos of the dead-letter path) are drawn from a separate random stream and inserted between
 * the good lines, so the good lines are identical whatever `badLineRate` is.
 *
 * Memory use does not grow with `days`: the generator keeps a few numbers per pump and three minute-buckets.
 */
import { WellwatchError } from './errors';

/** Options of {@link generateReadings}. */
export interface GeneratorOptions {
  /** Number of pumps, 1–100000. */
  readonly pumps: number;
  /** Number of whole days to generate, 1–3660. */
  readonly days: number;
  /** Integer seed (taken modulo 2^32). */
  readonly seed: number;
  /**
   * First day, `YYYY-MM-DD`; every generated day must lie in 2000–2099 (dates are written `M/D/YY`).
   *
   * @default '2014-03-10'
   */
  readonly start?: string;
  /**
   * Probability, per good line, that a malformed line is inserted before it (0–1).
   *
   * @default 0
   */
  readonly badLineRate?: number;
  /**
   * Share of pumps (0–1) that degrade before one failure (see {@link degradationEpisodes}); 0 for none.
   *
   * @default 0.25
   */
  readonly degradingShare?: number;
}

/** Kinds of degradation episode. */
export const DEGRADATION_KINDS = ['psi-sag', 'psi-step', 'disp-drift'] as const;
export type DegradationKind = (typeof DEGRADATION_KINDS)[number];

/** Ground truth of one degradation episode. */
export interface DegradationEpisode {
  readonly pump: string;
  readonly kind: DegradationKind;
  /** ISO time the degradation starts (`YYYY-MM-DDTHH:MM:SSZ`). */
  readonly start: string;
  /** ISO time the pump fails (reads 0) at the end of the degradation. */
  readonly failure: string;
  /** ISO time the pump is repaired and runs normally again. */
  readonly repaired: string;
  /** Fraction of the measure lost by the failure time (a sag or drift reaches it linearly; a step drops by it at once). */
  readonly depth: number;
}

/** Default share of degrading pumps. */
export const DEFAULT_DEGRADING_SHARE = 0.25;
/** Earliest episode start: after a day and a half, so daily baselines have been learnt (minutes from the start). */
const EPISODE_EARLIEST_START = 36 * 60;

/** The seed data's first day. */
export const DEFAULT_START = '2014-03-10';
/** Largest supported number of pumps. */
export const MAX_PUMPS = 100_000;
/** Largest supported number of days. */
export const MAX_DAYS = 3660;

/** Expected pump failures per pump per week. */
const FAILURES_PER_PUMP_WEEK = 3;
/** Mean minutes between readings of one pump (steps of 1 or 2 minutes, equally likely). */
const MEAN_STEP_MINUTES = 1.5;
const FAILURE_PROBABILITY = FAILURES_PER_PUMP_WEEK / ((7 * 1440) / MEAN_STEP_MINUTES);
const FAILURE_MIN_MINUTES = 30;
const FAILURE_MAX_MINUTES = 180;
/** Probability of a one-reading low-pressure blip on a running pump. */
const BLIP_PROBABILITY = 0.001;

/**
 * Rivers, creeks and counties of north Georgia (the seed's COHUTTA first), upper case, no digits.
 *
 * Pump ids are these words, then the words again with a numeric suffix (`COHUTTA2`, …), which keeps every id
 * unique because no word contains a digit.
 */
const WORDS: readonly string[] = [
  ...new Set(
    `COHUTTA CONASAUGA COOSAWATTEE ETOWAH OOSTANAULA OCMULGEE OCONEE ALTAMAHA OGEECHEE SATILLA SAVANNAH FLINT
    CHATTAHOOCHEE TALLAPOOSA TOCCOA TUGALOO ALAPAHA WITHLACOOCHEE SUWANNEE OHOOPEE CANOOCHEE CHESTATEE AMICALOLA
    ELLIJAY CARTECAY JACKS MOUNTAINTOWN TALKING HOLLY MILL ARMUCHEE EUHARLEE ALLATOONA SWEETWATER NICKAJACK PEACHTREE
    YELLOW ALCOVY APALACHEE MULBERRY BROAD TALLULAH CHATTOOGA TESNATEE SOQUE NOTTELY HIAWASSEE COOSA LOOKOUT
    CHICKAMAUGA APPLING ATKINSON BACON BAKER BALDWIN BANKS BARROW BARTOW BERRIEN BIBB BLECKLEY BRANTLEY BROOKS BRYAN
    BULLOCH BURKE BUTTS CALHOUN CAMDEN CANDLER CARROLL CATOOSA CHARLTON CHATHAM CHEROKEE CLARKE CLAY CLAYTON CLINCH
    COBB COFFEE COLQUITT COLUMBIA COOK COWETA CRAWFORD CRISP DADE DAWSON DECATUR DEKALB DODGE DOOLY DOUGHERTY DOUGLAS
    EARLY ECHOLS EFFINGHAM ELBERT EMANUEL EVANS FANNIN FAYETTE FLOYD FORSYTH FRANKLIN FULTON GILMER GLASCOCK GLYNN
    GORDON GRADY GREENE GWINNETT HABERSHAM HALL HANCOCK HARALSON HARRIS HART HEARD HENRY HOUSTON IRWIN JACKSON JASPER
    JEFFERSON JENKINS JOHNSON JONES LAMAR LANIER LAURENS LEE LIBERTY LINCOLN LONG LOWNDES LUMPKIN MCDUFFIE MCINTOSH
    MACON MADISON MARION MERIWETHER MILLER MITCHELL MONROE MONTGOMERY MORGAN MURRAY MUSCOGEE NEWTON OGLETHORPE
    PAULDING PEACH PICKENS PIERCE PIKE POLK PULASKI PUTNAM QUITMAN RABUN RANDOLPH RICHMOND ROCKDALE SCHLEY SCREVEN
    SEMINOLE SPALDING STEPHENS STEWART SUMTER TALBOT TALIAFERRO TATTNALL TAYLOR TELFAIR TERRELL THOMAS TIFT TOOMBS
    TOWNS TREUTLEN TROUP TURNER TWIGGS UNION UPSON WALKER WALTON WARE WARREN WASHINGTON WAYNE WEBSTER WHEELER WHITE
    WHITFIELD WILCOX WILKES WILKINSON WORTH`.split(/\s+/),
  ),
];

/**
 * The id of pump number `index` (0-based): a word, or a word plus a numeric suffix past the word list.
 *
 * Ids do not depend on the seed, so pump 0 is always `COHUTTA`.
 *
 * @example
 * pumpName(0); // 'COHUTTA'
 */
export function pumpName(index: number): string {
  const n = WORDS.length;
  const word = WORDS[index % n]!;
  return index < n ? word : word + (Math.floor(index / n) + 1);
}

/**
 * mulberry32: a tiny, fast 32-bit PRNG with good enough statistics for test data. Returns floats in [0, 1).
 *
 * @example
 * const random = mulberry32(42); random(); // → the same float every run
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Formats a non-negative number with exactly two decimals, faster than `toFixed(2)`. */
function fixed2(x: number): string {
  const cents = Math.round(x * 100);
  const whole = Math.floor(cents / 100);
  const frac = cents - whole * 100;
  return whole + (frac < 10 ? '.0' : '.') + frac;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function parseStart(start: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== start) {
    throw new WellwatchError(`start must be a date YYYY-MM-DD, got ${JSON.stringify(start)}`);
  }
  return ms;
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WellwatchError(`${name} must be an integer ${min}–${max}, got ${value}`);
  }
}

/** `M/D/YY` of a UTC midnight. */
function seedDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${String(d.getUTCFullYear() % 100).padStart(2, '0')}`;
}

/** `H:MM` for every minute of the day. */
const TIMES: readonly string[] = Array.from({ length: 1440 }, (_, m) => `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`);

/** Turns a good line into a malformed one of a randomly chosen kind. */
function corrupt(fields: string[], r: () => number): string {
  const f = fields.slice();
  switch (Math.floor(r() * 5)) {
    case 0: // wrong field count: one too few
      return f.slice(0, 8).join(',');
    case 1: // wrong field count: one too many
      return [...f, fixed2(r() * 10)].join(',');
    case 2: // non-numeric measure
      f[3 + Math.floor(r() * 6)] = ['abc', 'n/a', '1.2.3', '--'][Math.floor(r() * 4)]!;
      return f.join(',');
    case 3: // impossible date
      f[1] = ['2/30/14', '13/1/14', '4/31/14', '0/12/14'][Math.floor(r() * 4)]!;
      return f.join(',');
    default: // impossible time
      f[2] = ['24:00', '7:60', '25:15', '12:5x'][Math.floor(r() * 4)]!;
      return f.join(',');
  }
}

/** An episode in generator minutes (internal form of {@link DegradationEpisode}). */
interface EpisodeMinutes {
  readonly pump: number;
  readonly kind: DegradationKind;
  readonly start: number;
  readonly failure: number;
  readonly repaired: number;
  readonly depth: number;
}

function validate(options: GeneratorOptions): { startMs: number; badLineRate: number; degradingShare: number } {
  const { pumps, days, seed } = options;
  const badLineRate = options.badLineRate ?? 0;
  const degradingShare = options.degradingShare ?? DEFAULT_DEGRADING_SHARE;
  checkInt('pumps', pumps, 1, MAX_PUMPS);
  checkInt('days', days, 1, MAX_DAYS);
  if (!Number.isInteger(seed)) throw new WellwatchError(`seed must be an integer, got ${seed}`);
  if (!(badLineRate >= 0 && badLineRate <= 1)) {
    throw new WellwatchError(`badLineRate must be a number 0–1, got ${badLineRate}`);
  }
  if (!(degradingShare >= 0 && degradingShare <= 1)) {
    throw new WellwatchError(`degradingShare must be a number 0–1, got ${degradingShare}`);
  }
  const startMs = parseStart(options.start ?? DEFAULT_START);
  const lastYear = new Date(startMs + (days - 1) * 86_400_000).getUTCFullYear();
  if (new Date(startMs).getUTCFullYear() < 2000 || lastYear > 2099) {
    throw new WellwatchError(`generated days must lie in 2000–2099 (dates are written M/D/YY), got start ${options.start} and ${days} days`);
  }
  return { startMs, badLineRate, degradingShare };
}

/** Episodes in minutes, at most one per pump, ascending by pump; drawn from their own random stream. */
function episodeMinutes(pumps: number, days: number, seed: number, share: number): EpisodeMinutes[] {
  const r = mulberry32(seed ^ 0x2545f491);
  const total = days * 1440;
  const out: EpisodeMinutes[] = [];
  for (let p = 0; p < pumps; p++) {
    // Always six draws per pump, so pump p's episode does not depend on the others'.
    const chosen = r() < share;
    const kind = DEGRADATION_KINDS[Math.floor(r() * DEGRADATION_KINDS.length)]!;
    const u = r();
    const v = r();
    const w = r();
    const x = r();
    if (!chosen) continue;
    const duration = kind === 'psi-step' ? 120 + Math.floor(u * 601) : 720 + Math.floor(u * 2161);
    const depth = kind === 'psi-step' ? 0.2 + v * 0.5 : 0.2 + v * 0.3;
    const repair = 360 + Math.floor(w * 1081);
    // The failure falls uniformly where the whole episode fits after the earliest start and an hour before the end.
    const earliestFailure = EPISODE_EARLIEST_START + duration;
    const latestFailure = total - 60;
    if (latestFailure < earliestFailure) continue;
    const failure = earliestFailure + Math.floor(x * (latestFailure - earliestFailure + 1));
    out.push({ pump: p, kind, start: failure - duration, failure, repaired: failure + repair, depth });
  }
  return out;
}

/**
 * The degradation episodes (ground truth) of a generator run: which pumps degrade, how, from when, and when they fail.
 *
 * Same options, same episodes as {@link generateReadings} produces. An episode needs 36 h of history before its start
 * and must fail at least an hour before the run ends, so a run of 39 hours or less has none, and sags and drifts
 * (12–48 h) need runs of 2.6–3.6 days.
 *
 * @throws WellwatchError for options out of range.
 * @example
 * degradationEpisodes({ pumps: 100, days: 7, seed: 1 }); // → [{ pump: 'ETOWAH', kind: 'psi-sag', … }, …]
 */
export function degradationEpisodes(options: GeneratorOptions): DegradationEpisode[] {
  const { startMs, degradingShare } = validate(options);
  const iso = (minute: number): string => new Date(startMs + minute * 60_000).toISOString().slice(0, 19) + 'Z';
  return episodeMinutes(options.pumps, options.days, options.seed, degradingShare).map((e) => ({
    pump: pumpName(e.pump),
    kind: e.kind,
    start: iso(e.start),
    failure: iso(e.failure),
    repaired: iso(e.repaired),
    depth: Math.round(e.depth * 1000) / 1000,
  }));
}

/** The daily demand factor per minute of the day, for a trough depth `a` and peak minute: 1 at the peak, 1 − 2a at the trough. */
const COS_DAY: Float64Array = Float64Array.from({ length: 1440 }, (_, m) => Math.cos((2 * Math.PI * m) / 1440));

/**
 * Yields seed-format CSV lines (no newline) for `pumps` pumps over `days` days, in time order.
 *
 * Roughly 960 lines per pump-day (a reading every 1.5 minutes on average). Lines look like
 * `COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94`: pump, `M/D/YY`, `H:MM`, then hz (0–10.5, 2 decimals), disp
 * (0–6.2, 2 decimals), flo (0–2042, whole), sedPPM (0–7, 2 decimals), psi (0–100, whole), chlPPM (0.5–2, 2 decimals).
 *
 * @throws WellwatchError for options out of range.
 * @example
 * for (const line of generateReadings({ pumps: 10, days: 5, seed: 42 })) out.write(line + '\n');
 */
export function* generateReadings(options: GeneratorOptions): Generator<string, void, undefined> {
  const { pumps, days, seed } = options;
  const { startMs, badLineRate, degradingShare } = validate(options);

  const rng = mulberry32(seed);
  const badRng = mulberry32(seed ^ 0x5bd1e995);

  // Per-pump operating levels and current state, in typed arrays so 100k pumps stay small.
  const names: string[] = new Array(pumps);
  const hzLevel = new Float64Array(pumps);
  const dispLevel = new Float64Array(pumps);
  const floPerHz = new Float64Array(pumps);
  const psiLevel = new Float64Array(pumps);
  const sedLevel = new Float64Array(pumps);
  const chlLevel = new Float64Array(pumps);
  const hz = new Float64Array(pumps);
  const disp = new Float64Array(pumps);
  const psi = new Float64Array(pumps);
  const sed = new Float64Array(pumps);
  const chl = new Float64Array(pumps);
  /** Minute (exclusive) until which the pump is failed. */
  const failedUntil = new Float64Array(pumps);
  // Daily demand cycle (own random stream, so the other measures keep their values): trough depth and peak minute.
  const cycleRng = mulberry32(seed ^ 0x68e31da4);
  const cycleDepth = new Float64Array(pumps);
  const cyclePeak = new Int32Array(pumps);
  for (let p = 0; p < pumps; p++) {
    cycleDepth[p] = 0.04 + cycleRng() * 0.06;
    cyclePeak[p] = 780 + Math.floor(cycleRng() * 240);
  }
  // Degradation episodes: index per pump (-1 none).
  const episodes = episodeMinutes(pumps, days, seed, degradingShare);
  const episodeOf = new Int32Array(pumps).fill(-1);
  episodes.forEach((e, i) => (episodeOf[e.pump] = i));

  // Three rotating minute-buckets: a pump due at minute m is in bucket m % 3 (steps are 1 or 2 minutes).
  const buckets: number[][] = [[], [], []];
  for (let p = 0; p < pumps; p++) {
    names[p] = pumpName(p);
    hzLevel[p] = hz[p] = 8.5 + rng() * 1.8;
    dispLevel[p] = disp[p] = 1.2 + rng() * 4.5;
    floPerHz[p] = 60 + rng() * 130;
    psiLevel[p] = psi[p] = 45 + rng() * 45;
    sedLevel[p] = sed[p] = 0.5 + rng() * 3;
    chlLevel[p] = chl[p] = 0.8 + rng() * 1.0;
    buckets[rng() < 0.5 ? 0 : 1]!.push(p);
  }

  const totalMinutes = days * 1440;
  let date = '';
  const fields: string[] = new Array(9);
  for (let minute = 0; minute < totalMinutes; minute++) {
    const minuteOfDay = minute % 1440;
    if (minuteOfDay === 0) date = seedDate(startMs + (minute / 1440) * 86_400_000);
    const time = TIMES[minuteOfDay]!;
    const due = buckets[minute % 3]!;
    for (let i = 0; i < due.length; i++) {
      const p = due[i]!;
      // Slow sensors keep reporting through failures.
      sed[p] = clamp(sed[p]! + (sedLevel[p]! - sed[p]!) * 0.05 + (rng() + rng() - 1) * 0.08, 0, 7);
      chl[p] = clamp(chl[p]! + (chlLevel[p]! - chl[p]!) * 0.05 + (rng() + rng() - 1) * 0.03, 0.5, 2);
      let hzOut = 0;
      let dispOut = 0;
      let floOut = 0;
      let psiOut = 0;
      // Degradation: a factor on psi or disp during the episode; at its failure time the pump stops until repaired.
      let psiFactor = 1;
      let dispFactor = 1;
      const ep = episodeOf[p]! >= 0 ? episodes[episodeOf[p]!]! : undefined;
      if (ep !== undefined && minute >= ep.start && minute < ep.repaired) {
        if (minute >= ep.failure) {
          if (failedUntil[p]! < ep.repaired) failedUntil[p] = ep.repaired;
        } else {
          const f = ep.kind === 'psi-step' ? 1 - ep.depth : 1 - (ep.depth * (minute - ep.start)) / (ep.failure - ep.start);
          if (ep.kind === 'disp-drift') dispFactor = f;
          else psiFactor = f;
        }
      }
      if (failedUntil[p]! <= minute && rng() < FAILURE_PROBABILITY) {
        failedUntil[p] = minute + FAILURE_MIN_MINUTES + Math.floor(rng() * (FAILURE_MAX_MINUTES - FAILURE_MIN_MINUTES + 1));
      }
      if (failedUntil[p]! <= minute) {
        const demand = 1 - cycleDepth[p]! * (1 - COS_DAY[(minuteOfDay - cyclePeak[p]! + 1440) % 1440]!);
        hz[p] = clamp(hz[p]! + (hzLevel[p]! - hz[p]!) * 0.1 + (rng() + rng() - 1) * 0.15, 0, 10.5);
        disp[p] = clamp(disp[p]! + (dispLevel[p]! - disp[p]!) * 0.1 + (rng() + rng() - 1) * 0.1, 0, 6.2);
        psi[p] = clamp(psi[p]! + (psiLevel[p]! - psi[p]!) * 0.1 + (rng() + rng() - 1) * 3, 10, 100);
        hzOut = hz[p]!;
        dispOut = disp[p]! * demand * dispFactor;
        floOut = Math.min(2042, Math.round(hzOut * floPerHz[p]! * demand * dispFactor * (0.97 + rng() * 0.06)));
        psiOut = rng() < BLIP_PROBABILITY ? 1 + Math.floor(rng() * 4) : Math.round(psi[p]! * psiFactor);
      }
      fields[0] = names[p]!;
      fields[1] = date;
      fields[2] = time;
      fields[3] = fixed2(hzOut);
      fields[4] = fixed2(dispOut);
      fields[5] = String(floOut);
      fields[6] = fixed2(sed[p]!);
      fields[7] = String(psiOut);
      fields[8] = fixed2(chl[p]!);
      if (badLineRate > 0 && badRng() < badLineRate) yield corrupt(fields, badRng);
      yield fields.join(',');
      buckets[(minute + (rng() < 0.5 ? 1 : 2)) % 3]!.push(p);
    }
    due.length = 0;
  }
}
