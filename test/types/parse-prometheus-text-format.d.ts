/** The npm package ships no types: what the tests use of it. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): { name: string; help: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[];
}
