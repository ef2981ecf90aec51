/** The driver prints its numbers on one line starting with this, as JSON. */
export const RESULT_PREFIX = 'BENCH_RESULT ';
