import { type HintFindings, hintFindingsOf } from './findings.js';
import type { Analysis, LayerSummary, WasteSummary } from './types.js';

/**
 * What a non-interactive check reads of an analysis: the per-layer summaries, dive's waste figures and
 * the hint findings. Unlike the file model it is small whatever the image's size, so it can be cached
 * per image and a repeated check need not touch a layer.
 */
export interface AnalysisSummary {
  layers: LayerSummary[];
  waste: WasteSummary;
  findings: HintFindings;
}

/** The summary of a fresh analysis (the findings cost one walk of the final tree). */
export function summarizeAnalysis(analysis: Analysis): AnalysisSummary {
  return { layers: analysis.layers, waste: analysis.waste, findings: hintFindingsOf(analysis) };
}

/** A summary as is, or the summary of a full analysis (the TUI holds the whole model). */
export function summaryOf(analysis: Analysis | AnalysisSummary): AnalysisSummary {
  return 'findings' in analysis ? analysis : summarizeAnalysis(analysis);
}
