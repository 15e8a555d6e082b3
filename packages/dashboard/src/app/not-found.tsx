import { NotFoundExplanation } from "@/components/not-found-explanation";

export const metadata = { title: "Not found · Vigil" };

/** An address no page answers. */
export default function NotFound() {
  return (
    <main>
      <NotFoundExplanation />
    </main>
  );
}
