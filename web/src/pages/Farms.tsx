import Box from '@mui/material/Box';
import Card from '@mui/material/Card';
import CardActionArea from '@mui/material/CardActionArea';
import CardContent from '@mui/material/CardContent';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Typography from '@mui/material/Typography';
import { Link as RouterLink } from 'react-router';
import { SEVERITY_COLOUR, worst } from '../api/farm.ts';
import type { Alert, Farm, Page, Unit } from '../api/types.ts';
import { useApi } from '../api/useApi.ts';
import { PageTitle, Remote } from '../components/states.tsx';

export default function Farms() {
  const farms = useApi<{ items: Farm[] }>('/api/v1/farms');
  const open = useApi<Page<Alert>>('/api/v1/alerts', { state: 'open', limit: 500 }, 15_000);
  return (
    <>
      <PageTitle>Farms</PageTitle>
      <Remote
        state={farms}
        isEmpty={(d) => d.items.length === 0}
        empty="No farms yet, or you are not a member of one. An admin creates farms and adds members (or start with AQUAML_DEMO=1)."
      >
        {(d) =>
          d.items.map((farm) => (
            <FarmCard key={farm.id} farm={farm} alerts={open.data?.items ?? []} />
          ))
        }
      </Remote>
    </>
  );
}

function FarmCard({ farm, alerts }: { farm: Farm; alerts: Alert[] }) {
  const units = useApi<{ items: Unit[] }>(`/api/v1/farms/${farm.id}/units`);
  const farmAlerts = alerts.filter(
    (a) => a.farm_id === farm.id || units.data?.items.some((u) => u.id === a.unit_id),
  );
  const farmWorst = worst(farmAlerts);
  return (
    <Paper component="section" aria-label={`Farm ${farm.name}`} sx={{ p: 2, mb: 3 }}>
      <Box sx={{ display: 'flex', gap: 1, alignItems: 'center', flexWrap: 'wrap', mb: 2 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          {farm.name}
          {farm.location ? (
            <Typography component="span" color="text.secondary" sx={{ ml: 1 }}>
              {String(farm.location)}
            </Typography>
          ) : null}
        </Typography>
        <Chip
          color={SEVERITY_COLOUR[farmWorst ?? 'none']}
          label={
            farmAlerts.length
              ? `${farmAlerts.length} open alert${farmAlerts.length > 1 ? 's' : ''}`
              : 'no open alerts'
          }
        />
      </Box>
      <Remote
        state={units}
        isEmpty={(u) => u.items.length === 0}
        empty="No units on this farm yet."
      >
        {(u) => (
          <Box
            sx={{
              display: 'grid',
              gap: 2,
              gridTemplateColumns: { xs: '1fr 1fr', sm: 'repeat(3, 1fr)', lg: 'repeat(5, 1fr)' },
            }}
          >
            {u.items.map((unit) => {
              const unitAlerts = alerts.filter((a) => a.unit_id === unit.id);
              const w = worst(unitAlerts);
              const colour = SEVERITY_COLOUR[w ?? 'none'];
              return (
                <Card
                  key={unit.id}
                  variant="outlined"
                  sx={{ borderLeft: 6, borderLeftColor: `${colour}.main` }}
                >
                  <CardActionArea
                    component={RouterLink}
                    to={`/farms/${farm.id}/units/${unit.id}`}
                    aria-label={`Unit ${unit.name}${w ? `, ${unitAlerts.length} open alerts (${w})` : ', no open alerts'}`}
                  >
                    <CardContent>
                      <Typography variant="subtitle1" component="h3" noWrap>
                        {unit.name}
                      </Typography>
                      <Typography variant="body2" color="text.secondary" noWrap>
                        {unit.kind}
                        {unit.species ? ` · ${unit.species}` : ''}
                      </Typography>
                      <Typography variant="body2" sx={{ color: `${colour}.dark`, fontWeight: 600 }}>
                        {w ? `${unitAlerts.length} open (${w})` : 'OK'}
                      </Typography>
                    </CardContent>
                  </CardActionArea>
                </Card>
              );
            })}
          </Box>
        )}
      </Remote>
    </Paper>
  );
}
