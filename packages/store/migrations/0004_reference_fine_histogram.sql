-- A fine histogram per numerical feature (bins cut at the reference's 0.1% quantiles), from
-- which the monitor reads Kolmogorov-Smirnov without the reference sample itself.
ALTER TABLE reference_profiles ADD COLUMN IF NOT EXISTS fine_edges Array(Float64);
ALTER TABLE reference_profiles ADD COLUMN IF NOT EXISTS fine_counts Array(UInt64);
