import type { Search } from "@/lib/range";

/** A filter form's fields side by side, wrapping on a narrow screen. */
export const FORM_STYLE = { display: "flex", gap: 8, flexWrap: "wrap", alignItems: "end" } as const;

const KEPT = ["range", "from", "to", "refresh"] as const;

/** Hidden fields that carry the time range through a filter form's GET, as links keep it. */
export function RangeFields({ search }: { search: Search }) {
  return (
    <>
      {KEPT.map((key) => {
        const value = search[key];
        const text = Array.isArray(value) ? value[0] : value;
        return text === undefined ? null : <input key={key} type="hidden" name={key} value={text} />;
      })}
    </>
  );
}
