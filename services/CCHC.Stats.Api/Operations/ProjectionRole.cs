using JasperFx.Events.Daemon;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// Whether this node runs the projections now. Every node runs the async daemon in hot/cold mode: exactly one
/// holds PostgreSQL's advisory lock and runs the projection, the others wait to take over (see
/// <see cref="Hosting.EventStore"/>). Work that must happen where the projection runs (a rebuild) asks here.
/// </summary>
public sealed class ProjectionRole(IServiceProvider services)
{
    public bool RunsHere
    {
        get
        {
            // A rebuild pauses the daemon of the node that runs the projection, which keeps the projection's lock.
            if (services.GetService<Audit.RebuildCounters>()?.RunsHere == true)
            {
                return true;
            }

            // Absent when this node runs no daemon (Stats__RunProjections=false).
            var coordinator = services.GetService<IProjectionCoordinator>();
            try
            {
                return coordinator?.DaemonForMainDatabase().IsRunning ?? false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }
}
