/** The model filter of a search form: any model, or one of those named. */
export function ModelSelect({ models, chosen }: { models: string[]; chosen?: string }) {
  return (
    <label>
      model
      <select name="model" defaultValue={chosen ?? ""}>
        <option value="">any</option>
        {models.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
    </label>
  );
}
