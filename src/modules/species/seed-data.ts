/**
 * Seed data for the `fish_species` table: water-quality ranges per species, each with the source
 * it rests on.
 *
 * These are STARTING POINTS. Operators should adjust them per farm, strain, life stage and
 * system. Where a range rests on general (not species-specific) guidance, or on a weak source,
 * its `source` string says so. See docs/species-water-quality.md for the table and references.
 *
 * Conventions:
 * - `dissolvedOxygenMgL.max` is null everywhere: the sources read give minima only.
 * - `ammoniaMgL` is UN-IONIZED ammonia. Each source string says whether the value is NH3, NH3-N,
 *   or whether the source does not say. Un-ionized ammonia is derived from total ammonia
 *   nitrogen (TAN), pH and temperature (Emerson et al. 1975; see docs).
 * - Reef species are wild fish. Their ranges describe natural reef water / marine-aquarium
 *   practice, not a culture optimum.
 */

export interface RangeWithSource {
  min: number | null;
  max: number | null;
  /** Short citation + URL. */
  source: string;
}

export interface SpeciesSeed {
  /** Stable slug. For the reef species this is exactly the classifier's class folder name. */
  code: string;
  commonName: string;
  scientificName: string;
  category: 'reef' | 'farmed';
  environment: 'freshwater' | 'brackish' | 'marine';
  /** 1-3 sentences, factual. */
  description: string;
  /** Optimal range for the species (farmed: culture optimum). */
  temperatureC: RangeWithSource;
  /** `min` is the key value; `max` may be null. */
  dissolvedOxygenMgL: RangeWithSource;
  ph: RangeWithSource;
  /** Un-ionized ammonia maximum; `min` is null. */
  ammoniaMgL: RangeWithSource;
  /** Nitrite maximum; `min` is null. */
  nitriteMgL: RangeWithSource;
  salinityPpt: RangeWithSource;
}

// ---------------------------------------------------------------------------------------------
// References. Each is a short citation plus the URL of the copy that was read.
// ---------------------------------------------------------------------------------------------

const REF = {
  // General reef / marine-aquarium guidance
  noaaCoralWaters:
    'NOAA Ocean Service, "Coral reef waters" (archived copy): https://oceanservice.noaa.gov/facts/coralwaters.html',
  webberTesting:
    'Webber R., "Testing Water Quality", seahorse.org: http://www.seahorse.org/library/articles/testing.shtml',
  gibellMarine:
    'Gibell Aquarium, "Water quality parameters for tropical marine aquariums": https://www.gibellaquarium.us/reef-aquariums/water-quality-parameters-for-tropical-marine-aquariums.html',
  reefAquariumBasics:
    'ReefAquarium.com, "The Basics of Marine Aquarium Water Parameters": https://www.reefaquarium.com/tag/salt-water-parameters/',
  experts123Reef:
    'experts123 Q&A "Where can coral and coral reefs be found?" (unattributed): https://experts123.com/q/where-can-coral-and-coral-reefs-be-found.html',
  lofSalinity:
    'Khaled bin Sultan Living Oceans Foundation, environmental-conditions quiz: https://www.livingoceansfoundation.org/education/portal/quiz/environmental-conditions-assessment-2/',
  // Species-specific reef sources
  microcosmDascyllus:
    'Microcosm Aquarium Explorer (S. W. Michael), "Reticulate Dascyllus": https://en.microcosmaquariumexplorer.com/wiki/Reticulate_Dascyllus',
  rlsDascyllus:
    'Reef Life Survey, Dascyllus reticulatus: http://reeflifesurvey.com/species/Dascyllus-reticulatus',
  reeflingsAcanthurus:
    'Reeflings, Acanthurus nigrofuscus: http://reeflings.com/species/acanthurus-nigrofuscus',
  fbDickii:
    'FishBase field guide, Plectroglyphidodon dickii: https://fishbase.ca/FieldGuide/FieldGuideSummary.php?GenusName=Plectroglyphidodon&SpeciesName=dickii',
  fbLunulatus:
    'FishBase field guide, Chaetodon lunulatus: http://fishbase.mnhn.fr/FieldGuide/FieldGuideSummary.php?GenusName=Chaetodon&SpeciesName=lunulatus',
  fbTrifascialis:
    'FishBase field guide, Chaetodon trifascialis: http://fishbase.mnhn.fr/FieldGuide/FieldGuideSummary.php?GenusName=Chaetodon&SpeciesName=trifascialis',
  fbHemigymnus:
    'FishBase field guide, Hemigymnus fasciatus: https://fishbase.net.br/FieldGuide/FieldGuideSummary.php?GenusName=Hemigymnus&SpeciesName=fasciatus',
  fbSammara:
    'FishBase field guide, Neoniphon sammara: https://fishbase.org.au/FieldGuide/FieldGuideSummary.php?GenusName=Neoniphon&SpeciesName=sammara',
  // General aquaculture guidance
  tpwdLab:
    'Texas Parks & Wildlife Dept., Fish Health and Genetics Laboratory, "Routine Water Quality Monitoring": https://tpwd.texas.gov/fishboat/fish/management/hatcheries/fw_fish_lab/lab1.phtml',
  noEffectLimits:
    '"The no-effect physical and chemical limits of water supporting most fin-fishes" (handout, author/publisher not stated; docest.com copy): https://docest.com/doc/688000/the-no-effect-physical-and-chemical-limits-of-water-supporting-most-fin-fishes',
  meade1985:
    'Meade J. W. (1985), review of un-ionized ammonia effects on fish (abstract): https://synapsesocial.com/de/papers/6a1dc2fa79ea62caf6601567',
  srac462:
    'Durborow, Crosby & Brunson (1997), "Nitrite in Fish Ponds", SRAC Publication No. 462: https://docslib.org/doc/2017500/nitrite-in-fish-ponds',
  gaaDoPonds:
    'Global Aquaculture Advocate (GAA), "Dissolved oxygen concentrations in pond aquaculture": https://www.aquaculturealliance.org/advocate/topic/concentrations/',
  gaaShrimpAeration:
    'GAA report, "Operating Procedures for Shrimp Farming: Aerated Pond Management" (slideshare copy): http://www.slideshare.net/alberto46/aeration-procedures-nunesmusig',
  // Farmed species
  nafisTilapia:
    'Kenya National Farmers Information Service (NAFIS), tilapia "Environmental Requirements": http://www.nafis.go.ke/livestock/fish-farming/environmental-requirements/',
  troutFarmGuide:
    '"Ideal Temperature for Rainbow Trout Farming" and "Managing Growth Conditions for Trout" (small-scale trout-farm guide site, commercial): https://sites.google.com/view/smallscalerainbowtroutfarm/ideal-temperature-for-rainbow-trout-farming',
  waFisheriesTrout:
    'Dept. of Fisheries Western Australia, "Rainbow trout": https://fish.wa.gov.au/Species/Rainbow-Trout/Pages/default.aspx',
  aquaponicsTrout:
    'aquaponics.ai, "Rainbow Trout": https://aquaponics.ai/resources/fish/rainbow-trout',
  okamuraSalmon:
    'Okamura Foods, "Tidbits on Salmon Farming: Salmon Farming and Water": https://www.okamurashokuhin.co.jp/en/special/mamechishiki/06',
  stehfest2017:
    'Stehfest K. M. et al. (2017) Sci. Rep. 7:4545, doi:10.1038/s41598-017-04806-2: https://pmc.ncbi.nlm.nih.gov/articles/PMC5495760',
  remenDoMaxFi:
    'Remen M. et al., "The oxygen threshold for maximal feed intake of Atlantic salmon post-smolts is highly temperature-dependent" (Aquaculture, abstract): https://discovery.researcher.life/article/the-oxygen-threshold-for-maximal-feed-intake-of-atlantic-salmon-post-smolts-is-highly-temperature-dependent/040215f2ae5b35ac83e7ad0d7cfa7954',
  catfishHsi:
    'Channel catfish habitat-requirements review (USFWS habitat-suitability style literature review; Colorado Water Conservation Board Laserfiche doc 136195, p. 6): https://dnrweblink.state.co.us/CWCB/0/doc/136195/Page6.aspx',
  torrans2008:
    'Torrans E. L. (2008), "Production responses of channel catfish to minimum daily dissolved oxygen concentrations in earthen ponds", N. Am. J. Aquaculture (USDA-ARS summary): http://ars.usda.gov/research/publications/publications.htm?SEQ_NO_115=219965',
  faoCarp:
    'FAO Cultured Aquatic Species fact sheet, Cyprinus carpio (copy on The Fish Site, "Production Methods for the Common Carp"): https://thefishsite.com/articles/production-methods-for-the-common-carp',
  carpBlog:
    'Fish Hobbyist blog, "Terms and Habits of Life Common carp": https://fishhobbyist.net/2021/05/terms-and-habits-of-life-common-carp.html',
  yilmaz2020:
    'Yilmaz H. A. et al. (2020) Turk. J. Fish. Aquat. Sci. 20(5):331-340, doi:10.4194/1303-2712-v20_5_01: http://trjfas.org/abstract.php?lang=en&id=1445',
  azab2015:
    'Azab A. M. et al. (2015) Int. J. Environ. Sci. Eng. 6:35-46, "Effect of temperature and salinity on larval growth of the gilthead seabream" (studylib copy): https://studylib.net/doc/12061683/',
  fairFishBream:
    'Volstorf J. (2022), Sparus aurata dossier, fair-fish database: https://fair-fish-database.net/db/species/sparus-aurata/dossier',
  vannameiTemp:
    'Enviroliteracy.org, "What temperature should a Vannamei pond be?": https://enviroliteracy.org/animals/what-temperature-should-a-vannamei-pond-be',
  wickinsLeeViaEssay:
    'Wickins & Lee (2008), as cited in "Penaeid Shrimp Research Paper" (bartleby essay): https://www.bartleby.com/essay/Penaeid-Shrimp-Research-Paper-FJ4DZPE49T',
  boydFastShrimpSalinity:
    'Ghent Univ. shrimp course notes, "Salinity" (citing Boyd & Fast 1992): https://aquaculture.ugent.be/Education/coursematerial/online%20courses/shrimp-cd/product/sali.htm',
  bray1994:
    'Bray W. A. et al. (1994) Aquaculture 122:133-146, effect of salinity on growth and survival of Penaeus vannamei (abstract): https://acnpsearch.tweb-dev.unibo.it/singlejournalindex/37511245',
} as const;

// ---------------------------------------------------------------------------------------------
// Shared ranges for the reef species (general reef / marine-aquarium guidance)
// ---------------------------------------------------------------------------------------------

const reefTemperatureGeneral = (fishBaseNote: string): RangeWithSource => ({
  min: 23,
  max: 29,
  source: `General coral-reef guidance, not species-specific: many reef-building corals grow optimally at 23-29 °C (NOAA); no species temperature range was found. ${fishBaseNote} ${REF.noaaCoralWaters}`,
});

const reefDissolvedOxygen = (): RangeWithSource => ({
  min: 6,
  max: null,
  source: `General marine-aquarium guidance: dissolved O2 6-7 ppm (Webber); > 6.9 mg/L for demanding fore-reef organisms (Gibell). ${REF.webberTesting} ; ${REF.gibellMarine}`,
});

const reefPh = (): RangeWithSource => ({
  min: 8.1,
  max: 8.4,
  source: `General marine-aquarium guidance: pH 8.15-8.4 (Gibell); 8.1-8.3, with a natural daytime peak around 8.4 (Webber). ${REF.gibellMarine} ; ${REF.webberTesting}`,
});

const reefAmmonia = (): RangeWithSource => ({
  min: null,
  max: 0,
  source: `General marine-aquarium guidance: total ammonia (NH3 + NH4+) optimum 0.00 mg/L, so un-ionized NH3 is also 0; ammonia should be undetectable once the system is cycled. Treat any detectable reading as out of range. ${REF.webberTesting} ; ${REF.reefAquariumBasics}`,
});

const reefNitrite = (): RangeWithSource => ({
  min: null,
  max: 0,
  source: `General marine-aquarium guidance: nitrite (NO2) optimum 0.00 mg/L; undetectable once the system is cycled. ${REF.webberTesting} ; ${REF.reefAquariumBasics}`,
});

const reefSalinity = (): RangeWithSource => ({
  min: 33,
  max: 36,
  source: `General reef-water guidance: normal oceanic salinity 33-36 ppt (experts123, unattributed); average ocean salinity 35 ppt (Living Oceans Foundation); reef-building corals need 32-42 ppt (NOAA). ${REF.experts123Reef} ; ${REF.lofSalinity} ; ${REF.noaaCoralWaters}`,
});

// ---------------------------------------------------------------------------------------------
// Shared general aquaculture ranges (used where no species-specific value was verified)
// ---------------------------------------------------------------------------------------------

const generalUnionizedAmmonia = (note = ''): RangeWithSource => ({
  min: null,
  max: 0.02,
  source: `General hatchery guidance, not species-specific: "un-ionized ammonia levels of 0.02 mg/L are considered safe to fish" (TPWD; the source does not say NH3 or NH3-N).${note ? ` ${note}` : ''} ${REF.tpwdLab}`,
});

const salmonidUnionizedAmmonia = (): RangeWithSource => ({
  min: null,
  max: 0.0125,
  source: `Salmonid culture convention: 0.0125 mg/L un-ionized ammonia is "the value commonly accepted by fish culturists" (Meade 1985, who notes the true safe limit is unknown and often higher, so this is conservative; the abstract does not say NH3 or NH3-N). ${REF.meade1985}`,
});

const generalFinfishNitrite = (note = ''): RangeWithSource => ({
  min: null,
  max: 0.55,
  source: `General fin-fish guidance, not species-specific: nitrite-N < 0.55 mg/L (as NO2-N; handout of "no-effect" limits, author not stated). Chloride protects against nitrite: SRAC 462 recommends at least a 10:1 chloride:nitrite ratio.${note ? ` ${note}` : ''} ${REF.noEffectLimits} ; ${REF.srac462}`,
});

const generalFinfishPh = (note = ''): RangeWithSource => ({
  min: 6.7,
  max: 8.5,
  source: `General fin-fish guidance, not species-specific: pH 6.7-8.5 ("no-effect" limits handout, author not stated).${note ? ` ${note}` : ''} ${REF.noEffectLimits}`,
});

const generalDissolvedOxygen5 = (note = ''): RangeWithSource => ({
  min: 5,
  max: null,
  source: `General guidance, not species-specific: DO above 5 mg/L for good growth (TPWD); > 60 % of saturation, "generally 5 mg/L" ("no-effect" limits handout).${note ? ` ${note}` : ''} ${REF.tpwdLab} ; ${REF.noEffectLimits}`,
});

// ---------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------

export const speciesSeed: readonly SpeciesSeed[] = [
  // ----- Reef species of the shipped classifier (codes = class folder names) -----
  {
    code: 'dascyllus-reticulatus',
    commonName: 'Reticulate dascyllus',
    scientificName: 'Dascyllus reticulatus',
    category: 'reef',
    environment: 'marine',
    description:
      'Small damselfish (up to about 9 cm) of the tropical central Indo-Pacific. It lives among branching corals in outer lagoons and seaward reefs at 1-50 m depth.',
    temperatureC: {
      min: 24,
      max: 28,
      source: `Species aquarium guidance: marine, 24-28 °C (Microcosm Aquarium Explorer). In the wild, Reef Life Survey records it at sea temperatures of 19.8-31.1 °C (depth 1-50 m). ${REF.microcosmDascyllus} ; ${REF.rlsDascyllus}`,
    },
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'plectroglyphidodon-dickii',
    commonName: 'Blackbar devil',
    scientificName: 'Plectroglyphidodon dickii',
    category: 'reef',
    environment: 'marine',
    description:
      'Damselfish of the Indo-Pacific, from East Africa to the Line and Tuamotu islands. Adults live in coral-rich and surge areas of clear lagoon and seaward reefs, often with Pocillopora or Acropora corals.',
    temperatureC: reefTemperatureGeneral(
      'FishBase: reef-associated; marine; depth range 0-20 m; no temperature given on the page read.',
    ),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'chromis-chrysura',
    commonName: 'Stout-body chromis',
    scientificName: 'Chromis chrysura',
    category: 'reef',
    environment: 'marine',
    description:
      'Damselfish of the tropical Indo-West Pacific, with separate populations around southern Japan and Taiwan, the Coral Sea and eastern Australia, and the Mascarene Islands. It forms large aggregations on steep outer reef slopes and feeds on zooplankton above the reef.',
    temperatureC: reefTemperatureGeneral('No FishBase temperature data was read for this species.'),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'amphiprion-clarkii',
    commonName: "Clark's anemonefish",
    scientificName: 'Amphiprion clarkii',
    category: 'reef',
    environment: 'marine',
    description:
      'The most widely distributed anemonefish, from the Persian Gulf to Micronesia and from Australia to Japan. It lives in lagoons and on outer reef slopes in symbiosis with sea anemones, and is known to use all 10 host anemone species.',
    temperatureC: reefTemperatureGeneral('No FishBase temperature data was read for this species.'),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'chaetodon-lunulatus',
    commonName: 'Oval butterflyfish',
    scientificName: 'Chaetodon lunulatus',
    category: 'reef',
    environment: 'marine',
    description:
      'Butterflyfish of the Pacific Ocean, from Japan and Australia to the Tuamotu Islands and Hawaii. It lives in monogamous pairs in coastal coral-rich areas and feeds only on live coral.',
    temperatureC: reefTemperatureGeneral(
      'FishBase: reef-associated; depth range 3-30 m; no temperature given on the page read.',
    ),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'chaetodon-trifascialis',
    commonName: 'Chevron butterflyfish',
    scientificName: 'Chaetodon trifascialis',
    category: 'reef',
    environment: 'marine',
    description:
      'Territorial butterflyfish of the Indo-Pacific, from the Red Sea and East Africa to the Hawaiian and Society islands. It is closely tied to tabular and staghorn Acropora corals and feeds on their polyps and mucus.',
    temperatureC: reefTemperatureGeneral(
      'FishBase: reef-associated; depth range 2-30 m; no temperature given on the page read.',
    ),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'myripristis-kuntee',
    commonName: 'Shoulderbar soldierfish',
    scientificName: 'Myripristis kuntee',
    category: 'reef',
    environment: 'marine',
    description:
      'Nocturnal soldierfish of the Indo-Pacific, also called epaulette soldierfish. It shelters in schools in caves and under overhangs by day on lagoon and seaward reefs (0-65 m) and feeds on plankton at night.',
    temperatureC: reefTemperatureGeneral('No FishBase temperature data was read for this species.'),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'acanthurus-nigrofuscus',
    commonName: 'Brown surgeonfish',
    scientificName: 'Acanthurus nigrofuscus',
    category: 'reef',
    environment: 'marine',
    description:
      'Common herbivorous surgeonfish of the Indo-Pacific, from the Red Sea and East Africa to Hawaii and the Pitcairn Islands. It grazes benthic algae on shallow coral and rocky reefs down to about 25 m.',
    temperatureC: {
      min: 24,
      max: 28,
      source: `Species aquarium guidance: 24-28 °C (Reeflings species page, which also gives pH 8.1-8.4 and SG 1.020-1.025). ${REF.reeflingsAcanthurus}`,
    },
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'hemigymnus-fasciatus',
    commonName: 'Barred thicklip',
    scientificName: 'Hemigymnus fasciatus',
    category: 'reef',
    environment: 'marine',
    description:
      'Wrasse of the Indo-Pacific, growing to about 30 cm. It lives on coral reefs and reef flats, where it feeds by sifting sand for small crustaceans, molluscs and echinoderms.',
    temperatureC: reefTemperatureGeneral(
      'FishBase: reef-associated; marine; depth range 0-25 m; no temperature given on the page read.',
    ),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },
  {
    code: 'neoniphon-sammara',
    commonName: 'Sammara squirrelfish',
    scientificName: 'Neoniphon sammara',
    category: 'reef',
    environment: 'marine',
    description:
      'Nocturnal squirrelfish of the Indo-Pacific, from the Red Sea and East Africa to Hawaii. It lives on seagrass beds and hard bottoms from reef flats to 46 m, often near branching Acropora, and has a venomous preopercular spine.',
    temperatureC: reefTemperatureGeneral(
      'FishBase: reef-associated; marine; depth range 0-46 m; no temperature given on the page read.',
    ),
    dissolvedOxygenMgL: reefDissolvedOxygen(),
    ph: reefPh(),
    ammoniaMgL: reefAmmonia(),
    nitriteMgL: reefNitrite(),
    salinityPpt: reefSalinity(),
  },

  // ----- Farmed species (culture ranges) -----
  {
    code: 'nile-tilapia',
    commonName: 'Nile tilapia',
    scientificName: 'Oreochromis niloticus',
    category: 'farmed',
    environment: 'freshwater',
    description:
      'Warm-water African cichlid, one of the most widely farmed fish. Growth is poor below 16 °C and fish die below about 12 °C; it grows well at salinities up to 15 ppt.',
    temperatureC: {
      min: 20,
      max: 30,
      source: `NAFIS (Kenya): normal water temperature 20-30 °C; growth is poor below 16 °C, deaths below 12 °C, no spawning below 20 °C. ${REF.nafisTilapia}`,
    },
    dissolvedOxygenMgL: {
      min: 4,
      max: null,
      source: `NAFIS (Kenya): optimal DO for tilapia culture is 4 mg/L (50 % saturation) and it should not go below 2.3 mg/L. ${REF.nafisTilapia}`,
    },
    ph: {
      min: 6,
      max: 9,
      source: `NAFIS (Kenya): tilapia survive pH 5-10 but do best at pH 6-9. ${REF.nafisTilapia}`,
    },
    ammoniaMgL: generalUnionizedAmmonia(
      'NAFIS gives only lethal levels for tilapia: mass mortality within days above 2 mg/L and deaths after weeks above 1 mg/L un-ionized ammonia.',
    ),
    nitriteMgL: {
      min: null,
      max: 27,
      source: `NAFIS (Kenya): tilapia are more tolerant of nitrite than many cultured freshwater fish; for freshwater culture keep nitrite below 27 mg/L (the source does not say NO2 or NO2-N). Chloride reduces nitrite toxicity. ${REF.nafisTilapia}`,
    },
    salinityPpt: {
      min: 0,
      max: 15,
      source: `NAFIS (Kenya): Nile tilapia is the least salt-tolerant of the commercial tilapias but grows well at salinities up to 15 ppt. ${REF.nafisTilapia}`,
    },
  },
  {
    code: 'rainbow-trout',
    commonName: 'Rainbow trout',
    scientificName: 'Oncorhynchus mykiss',
    category: 'farmed',
    environment: 'freshwater',
    description:
      'Cold-water salmonid native to the Pacific drainages of North America, introduced for aquaculture and angling to every continent except Antarctica. It needs cool, well-oxygenated water; anadromous (steelhead) forms also exist.',
    temperatureC: {
      min: 10,
      max: 15,
      source: `Trout-farm guide (commercial site, weak source): ideal farming range 10-15 °C, best growth around 12 °C, stress above 18 °C. Government context: the species thrives at 5-20 °C and dies at 26-27 °C (Dept. of Fisheries WA). ${REF.troutFarmGuide} ; ${REF.waFisheriesTrout}`,
    },
    dissolvedOxygenMgL: {
      min: 6,
      max: null,
      source: `Trout-farm guide (commercial site, weak source): DO of at least 6 mg/L for healthy growth; aquaponics.ai: DO must not fall below 5.0 ppm. ${REF.troutFarmGuide} ; ${REF.aquaponicsTrout}`,
    },
    ph: {
      min: 6.5,
      max: 8,
      source: `Trout-farm guide (commercial site, weak source): pH 6.5-8.0; aquaponics.ai gives pH 6.5-8. ${REF.troutFarmGuide} ; ${REF.aquaponicsTrout}`,
    },
    ammoniaMgL: salmonidUnionizedAmmonia(),
    nitriteMgL: generalFinfishNitrite(
      'Salmonids are nitrite-sensitive in soft, low-chloride water; tighten as needed.',
    ),
    salinityPpt: {
      min: 0,
      max: null,
      source: `Farmed mainly in fresh water (min 0). No upper salinity limit was verified from a source, so max is null; anadromous forms exist (Dept. of Fisheries WA). ${REF.waFisheriesTrout}`,
    },
  },
  {
    code: 'atlantic-salmon',
    commonName: 'Atlantic salmon',
    scientificName: 'Salmo salar',
    category: 'farmed',
    environment: 'marine',
    description:
      'Anadromous salmonid of the North Atlantic and the most farmed fish in Europe. Juveniles are reared in fresh water, then grown out in sea cages after smoltification.',
    temperatureC: {
      min: 11,
      max: 16,
      source: `Okamura Foods salmon-farming notes (industry source): suitable growth temperature 11-16 °C in seawater (13-17 °C in fresh water); growth becomes difficult above 20 °C. Caged salmon preferred 16.5-17.5 °C and avoided water above 20.1 °C (Stehfest et al. 2017). ${REF.okamuraSalmon} ; ${REF.stehfest2017}`,
    },
    dissolvedOxygenMgL: {
      min: 6,
      max: null,
      source: `Okamura Foods (industry source): 6-10 mg/L O2 is optimal. Stehfest et al. (2017): DO below 60 % saturation is suboptimal, and caged salmon actively avoid < 35 %. Remen et al.: the DO needed for maximal feed intake rises from 42 % to 76 % saturation between 7 and 19 °C. ${REF.okamuraSalmon} ; ${REF.stehfest2017} ; ${REF.remenDoMaxFi}`,
    },
    ph: generalFinfishPh('No salmon-specific pH range was verified.'),
    ammoniaMgL: salmonidUnionizedAmmonia(),
    nitriteMgL: generalFinfishNitrite(),
    salinityPpt: {
      min: 12.5,
      max: null,
      source: `Okamura Foods (industry source): salmon are farmed in seawater from about 1.25-1.5 % salinity (Danish waters) to a little over 3 % (Japan), after gradual acclimation from fresh water. Max left null (full-strength seawater). ${REF.okamuraSalmon}`,
    },
  },
  {
    code: 'channel-catfish',
    commonName: 'Channel catfish',
    scientificName: 'Ictalurus punctatus',
    category: 'farmed',
    environment: 'freshwater',
    description:
      'North American freshwater catfish, farmed mainly in earthen ponds. It grows best in warm water and tolerates low salinity.',
    temperatureC: {
      min: 26,
      max: 29,
      source: `Channel catfish habitat review: optimal temperature for adult growth 26-29 °C (Shrable et al. 1969; Chen 1976); growth poor below 21 °C, stops below 18 °C; upper lethal 33.5 °C. ${REF.catfishHsi}`,
    },
    dissolvedOxygenMgL: {
      min: 3,
      max: null,
      source: `GAA: keeping the daily minimum DO above 3 mg/L in channel catfish ponds gives better feed consumption and growth. Context: 5 mg/L adequate and >= 7 mg/L optimum, < 3 mg/L retards growth (habitat review); Torrans (2008) suggests a 2.3-2.5 mg/L minimum as a cost compromise. ${REF.gaaDoPonds} ; ${REF.catfishHsi} ; ${REF.torrans2008}`,
    },
    ph: {
      min: 6.5,
      max: 9,
      source: `General hatchery guidance, not species-specific: pH for fish culture should be 6.5-9.0 (TPWD). ${REF.tpwdLab}`,
    },
    ammoniaMgL: generalUnionizedAmmonia(),
    nitriteMgL: generalFinfishNitrite(
      'SRAC 462 is written for catfish ponds and advises keeping at least 100 mg/L chloride as insurance.',
    ),
    salinityPpt: {
      min: 0,
      max: 8,
      source: `Channel catfish habitat review: salinities up to 8 ppt are tolerated with little or no effect; growth slows above this and stops above 11 ppt (Perry & Avault 1968). ${REF.catfishHsi}`,
    },
  },
  {
    code: 'common-carp',
    commonName: 'Common carp',
    scientificName: 'Cyprinus carpio',
    category: 'farmed',
    environment: 'freshwater',
    description:
      'Omnivorous cyprinid native to Europe and Asia and the oldest farmed fish species, often raised in pond polyculture. It tolerates a broad range of conditions and can survive very low oxygen concentrations.',
    temperatureC: {
      min: 23,
      max: 30,
      source: `FAO fact sheet: best growth at water temperatures of 23-30 °C; the fish survives cold winters. ${REF.faoCarp}`,
    },
    dissolvedOxygenMgL: {
      min: 5,
      max: null,
      source: `Fish Hobbyist blog (weak source): DO > 5 mg/L for good carp culture; TPWD general guidance also gives > 5 mg/L. FAO notes carp can survive 0.3-0.5 mg/L, but that is survival, not a culture target. ${REF.carpBlog} ; ${REF.tpwdLab} ; ${REF.faoCarp}`,
    },
    ph: {
      min: 6.5,
      max: 9,
      source: `FAO fact sheet: optimal pH range 6.5-9.0. (The Fish Hobbyist blog gives a narrower 7-8.) ${REF.faoCarp} ; ${REF.carpBlog}`,
    },
    ammoniaMgL: {
      min: null,
      max: 0.02,
      source: `Fish Hobbyist blog (weak source): NH3 < 0.02 mg/L (as NH3); matches TPWD general guidance of 0.02 mg/L un-ionized ammonia. ${REF.carpBlog} ; ${REF.tpwdLab}`,
    },
    nitriteMgL: {
      min: null,
      max: 0.05,
      source: `Fish Hobbyist blog (weak source, no primary reference given): NO2 < 0.05 ppm (the source does not say NO2 or NO2-N). ${REF.carpBlog}`,
    },
    salinityPpt: {
      min: 0,
      max: 5,
      source: `FAO fact sheet: salinity up to about 5 ‰ is tolerated (the stored copy prints "5 per cent", an evident typo for ‰). ${REF.faoCarp}`,
    },
  },
  {
    code: 'european-seabass',
    commonName: 'European seabass',
    scientificName: 'Dicentrarchus labrax',
    category: 'farmed',
    environment: 'marine',
    description:
      'Euryhaline moronid of the north-east Atlantic and the Mediterranean. With gilthead seabream it dominates Mediterranean marine fish farming, mostly in sea cages.',
    temperatureC: {
      min: 20,
      max: 25,
      source: `Yilmaz et al. (2020): of 15, 20 and 25 °C, growth was best at 25 °C (specific growth rate about twice that at 15 °C), intermediate at 20 °C; CTmax 31.8-36.7 °C. 25 °C was the highest temperature tested, so the true optimum may be higher. ${REF.yilmaz2020}`,
    },
    dissolvedOxygenMgL: generalDissolvedOxygen5('No seabass-specific DO minimum was verified.'),
    ph: generalFinfishPh('No seabass-specific pH range was verified.'),
    ammoniaMgL: generalUnionizedAmmonia(),
    nitriteMgL: generalFinfishNitrite(),
    salinityPpt: {
      min: 0,
      max: 38,
      source: `Yilmaz et al. (2020): fish grew at 0, 20 and 38 ppt (best in fresh water at 25 °C); the species is euryhaline. ${REF.yilmaz2020}`,
    },
  },
  {
    code: 'gilthead-seabream',
    commonName: 'Gilthead seabream',
    scientificName: 'Sparus aurata',
    category: 'farmed',
    environment: 'marine',
    description:
      'Euryhaline sparid of the eastern Atlantic and the Mediterranean, farmed in sea cages, ponds and coastal lagoons. It is sensitive to low temperatures.',
    temperatureC: {
      min: 18,
      max: 30,
      source: `Weakly supported, not a verified on-growing optimum: larvae grew best at 18 °C of 16, 18 and 20 °C tested (Azab et al. 2015), and feed intake rises with temperature up to 30 °C (fair-fish dossier). ${REF.azab2015} ; ${REF.fairFishBream}`,
    },
    dissolvedOxygenMgL: generalDissolvedOxygen5('No seabream-specific DO minimum was verified.'),
    ph: generalFinfishPh('No seabream-specific pH range was verified.'),
    ammoniaMgL: generalUnionizedAmmonia(),
    nitriteMgL: generalFinfishNitrite(),
    salinityPpt: {
      min: 20,
      max: 35,
      source: `Azab et al. (2015): larvae grew about equally at 20 ‰ and 35 ‰ (survival and feed conversion slightly better at 35 ‰). Larval study; the species is euryhaline. ${REF.azab2015}`,
    },
  },
  {
    code: 'whiteleg-shrimp',
    commonName: 'Whiteleg shrimp',
    scientificName: 'Penaeus vannamei (syn. Litopenaeus vannamei)',
    category: 'farmed',
    environment: 'brackish',
    description:
      'Penaeid shrimp native to the eastern Pacific coast from Mexico to Peru, where water is normally above 20 °C all year. It is the most widely farmed shrimp and tolerates salinities from about 0.5 to 45 ppt.',
    temperatureC: {
      min: 28,
      max: 32,
      source: `Enviroliteracy.org (secondary, weak source): optimal vannamei pond temperature 28-32 °C. Wider culture range 26-33 °C (Wickins & Lee 2008, cited in a secondary essay). ${REF.vannameiTemp} ; ${REF.wickinsLeeViaEssay}`,
    },
    dissolvedOxygenMgL: {
      min: 4,
      max: null,
      source: `GAA shrimp-farming report: DO below 3 or 4 mg/L for several hours can stress shrimp, and below 1 mg/L for more than a few hours kills them; GAA also advises keeping the daily minimum above 3 mg/L in shrimp ponds. ${REF.gaaShrimpAeration} ; ${REF.gaaDoPonds}`,
    },
    ph: {
      min: 6.5,
      max: 9,
      source: `UNVERIFIED for shrimp: no shrimp-specific pH range was found in sources read; this is general fish-culture guidance, pH 6.5-9.0 (TPWD). Operators should tighten it (shrimp-farm practice is usually narrower). ${REF.tpwdLab}`,
    },
    ammoniaMgL: generalUnionizedAmmonia(
      'Fish guidance applied to shrimp, no shrimp-specific value was verified.',
    ),
    nitriteMgL: {
      min: null,
      max: null,
      source: `No nitrite limit for shrimp was found in sources read, so max is null. Nitrite toxicity is lower at higher chloride (seawater) (SRAC 462). Operators should set a farm value. ${REF.srac462}`,
    },
    salinityPpt: {
      min: 15,
      max: 30,
      source: `Penaeid guidance (Boyd & Fast 1992 via Ghent Univ. course notes): growth occurs at 15-30 ppt; > 45-60 ppt can be lethal. For P. vannamei, Bray et al. (1994) found similar survival at 5-49 ppt and the best growth at 5 and 15 ppt. ${REF.boydFastShrimpSalinity} ; ${REF.bray1994}`,
    },
  },
];
