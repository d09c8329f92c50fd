/**
 * How many cases a fast-check property runs. `npm test` runs the number each test asks for; a mutation run
 * (`npm run mutation`, which sets WELLWATCH_MUTATION_RUN in jest.stryker.config.js) runs at most 100 per property.
 *
 * Why: jest runs every test of a file for each mutant the file covers (jest's bail stops between files, not
 * inside one), so a property of 3,000 cases costs seconds per mutant, and a run over lambdas/core would take
 * hours on a 2-core machine. A mutant that only a rarer case catches shows up as a survivor and is triaged like
 * any other (test/MUTATION.md).
 */
export function propertyRuns(numRuns: number): number {
  return process.env.WELLWATCH_MUTATION_RUN === '1' ? Math.min(numRuns, 100) : numRuns;
}
