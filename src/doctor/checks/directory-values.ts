/**
 * Check `directory`: the values the generator itself would refuse, collected while the doctor
 * built the generator's context (each with the generator's own hint). run-doctor.ts also files
 * the "cannot read the directory" failure under this id.
 */
import type { Problem } from '../../errors.js';
import { formatProblem } from '../../errors.js';
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';

/** The id of this check. */
export const DIRECTORY_CHECK_ID = 'directory';

/** The findings of the directory-values check. */
export function checkDirectoryValues(problems: readonly Problem[]): Finding[] {
  if (problems.length === 0) {
    return [okFinding(DIRECTORY_CHECK_ID, 'directory', 'every value the generator reads parses')];
  }
  return problems.map((problem) => ({
    check: DIRECTORY_CHECK_ID,
    severity: 'fail',
    subject: problem.entry,
    evidence: formatProblem(problem),
    explanation: 'zmproxyconfgen refuses to generate while the directory holds this value',
    fix: problem.hint ?? null,
  }));
}

/** The `directory` check. */
export const directoryValuesCheck = defineCheck({
  id: DIRECTORY_CHECK_ID,
  title: 'Directory values',
  needs: ['directoryProblems'],
  run: ({ directoryProblems }) => checkDirectoryValues(directoryProblems),
});
