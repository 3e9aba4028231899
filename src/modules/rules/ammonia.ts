/**
 * Un-ionized ammonia (NH3) from total ammonia nitrogen, pH and temperature, after
 * Emerson K., Russo R. C., Lund R. E., Thurston R. V. (1975), "Aqueous ammonia equilibrium
 * calculations: effect of pH and temperature", J. Fish. Res. Board Can. 32: 2379-2383:
 *
 *   pKa = 0.09018 + 2729.92 / T(K)
 *   f   = 1 / (10^(pKa - pH) + 1)        fraction of total ammonia that is un-ionized
 *   NH3 = TAN x f
 *
 * Valid for fresh water at 0-30 C and pH 6-10; in sea water the true fraction is somewhat lower
 * (ionic strength), so the estimate errs on the safe side. The result has the unit of the total
 * ammonia given (here mg/L as N).
 */
export function unionizedFraction(ph: number, temperatureC: number): number {
  const pKa = 0.09018 + 2729.92 / (temperatureC + 273.15);
  return 1 / (10 ** (pKa - ph) + 1);
}

export function unionizedAmmonia(totalAmmonia: number, ph: number, temperatureC: number): number {
  return totalAmmonia * unionizedFraction(ph, temperatureC);
}
