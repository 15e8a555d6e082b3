import { NotFoundExplanation } from "@/components/not-found-explanation";

/** An address no page answers. */
export default function NotFound() {
  return (
    <main>
      <NotFoundExplanation />
    </main>
  );
}
