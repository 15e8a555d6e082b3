import { NotFoundExplanation } from "@/components/not-found-explanation";

/** What notFound() shows inside the dashboard's frame: an unknown trace, prediction or model. */
export default function NotFound() {
  return <NotFoundExplanation />;
}
