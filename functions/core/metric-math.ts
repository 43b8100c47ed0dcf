/**
 * A light syntax check of a metric math expression (CloudWatch User Guide, "Metric math syntax and functions"):
 * balanced parentheses and brackets (arrays of series), an operator between two operands, an operand after each operator, and only the functions
 * metric math has. CloudWatch refuses a malformed expression for the whole GetMetricData request, every other
 * metric's query with it, so the config is refused instead.
 */

/** Metric math's functions, as "Metric math syntax and functions" lists them. */
const FUNCTIONS = new Set([
  'ABS',
  'ANOMALY_DETECTION_BAND',
  'AVG',
  'CEIL',
  'CONCAT',
  'DATAPOINT_COUNT',
  'DATE',
  'DAY',
  'DB_PERF_INSIGHTS',
  'DIFF',
  'DIFF_TIME',
  'EPOCH',
  'FILL',
  'FIRST',
  'FLOOR',
  'HOUR',
  'IF',
  'INSIGHT_RULE_METRIC',
  'LAMBDA',
  'LAST',
  'LOG',
  'LOG10',
  'MAX',
  'METRIC_COUNT',
  'METRICS',
  'MIN',
  'MINUTE',
  'MONTH',
  'PERIOD',
  'RATE',
  'REMOVE_EMPTY',
  'RUNNING_SUM',
  'SEARCH',
  'SERVICE_QUOTA',
  'SLICE',
  'SORT',
  'STDDEV',
  'SUM',
  'TIME_SERIES',
  'YEAR',
]);

/** Arithmetic, comparison and logical operators between two operands. */
const BINARY = new Set(['+', '-', '*', '/', '^', '==', '!=', '<=', '>=', '<', '>', '&&', '||', 'AND', 'OR']);
const UNARY = new Set(['-', '+', '!', 'NOT']);

const TOKEN =
  /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|('[^']*'|"[^"]*")|(==|!=|<=|>=|&&|\|\||[-+*/^<>!(),[\]])|(\S))/y;

/** The first syntax error of an expression, or undefined when it is well formed. */
export function metricMathError(expression: string): string | undefined {
  const tokens: { text: string; kind: 'operand' | 'word' | 'symbol' }[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(expression); m !== null && m[0].trim() !== ''; m = TOKEN.exec(expression)) {
    if (m[5] !== undefined) return `"${m[5]}" is not part of metric math`;
    const text = (m[1] ?? m[2] ?? m[3] ?? m[4]) as string;
    tokens.push({ text, kind: m[4] !== undefined ? 'symbol' : m[2] !== undefined ? 'word' : 'operand' });
  }
  const open: number[] = [];
  let operand = true; // an operand is expected next
  for (const [i, t] of tokens.entries()) {
    const next = tokens[i + 1]?.text;
    const call = t.kind === 'word' && next === '(';
    if (call && !FUNCTIONS.has(t.text)) return `"${t.text}" is not a metric math function`;
    const isBinary = BINARY.has(t.text) && (t.kind === 'symbol' || /^[A-Z]+$/.test(t.text));
    if (operand && UNARY.has(t.text)) continue;
    if (call || t.text === '(' || t.text === '[') {
      if (!operand) return `an operator is missing before "${t.text}"`;
      if (!call) open.push(i);
    } else if (t.text === ')' || t.text === ']') {
      const start = open.pop();
      const opening = t.text === ')' ? '(' : '[';
      if (start === undefined || tokens[start]?.text !== opening)
        return `has a "${t.text}" without its "${opening}"`;
      if (operand && !(start === i - 1 && tokens[start - 1]?.kind === 'word'))
        return `an operand is missing before "${t.text}"`;
      operand = false;
    } else if (t.text === ',') {
      if (open.length === 0 || operand) return 'has a "," out of place';
      operand = true;
    } else if (isBinary) {
      if (operand) return `an operand is missing before "${t.text}"`;
      operand = true;
    } else {
      if (!operand) return `an operator is missing before "${t.text}"`;
      operand = false;
    }
  }
  const unclosed = tokens[open.pop() ?? -1]?.text;
  if (unclosed) return `has a "${unclosed}" without its "${unclosed === '(' ? ')' : ']'}"`;
  if (operand) return 'ends without an operand';
  return undefined;
}
