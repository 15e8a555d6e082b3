import { loadFlights, splitByMonth, isDelayed } from "@vigil/demo-model";
const { train, heldOut } = splitByMonth(loadFlights());
console.log(train.length, heldOut.length, heldOut.filter(isDelayed).length);
