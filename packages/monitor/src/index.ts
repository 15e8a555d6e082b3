export { classificationQuality, LOG_LOSS_EPS, type ClassificationQuality, type ClassScores, type QualityQuery } from "./quality.js";
export { windows, type Window } from "./window.js";
