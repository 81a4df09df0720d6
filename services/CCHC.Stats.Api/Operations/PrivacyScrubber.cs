using System.Diagnostics;
using OpenTelemetry;

namespace CCHC.Stats.Api.Operations;

/// <summary>
/// Removes the visitor's address and browser from every span before export: ASP.NET Core's instrumentation
/// records them by default, and the service promises that no IP or User-Agent is stored, logged or traced.
/// </summary>
public sealed class PrivacyScrubber : BaseProcessor<Activity>
{
    private static readonly string[] PersonalTags =
        ["user_agent.original", "http.user_agent", "client.address", "client.port", "http.client_ip", "net.peer.ip", "net.sock.peer.addr", "network.peer.address"];

    public override void OnEnd(Activity activity)
    {
        foreach (var tag in PersonalTags)
        {
            if (activity.GetTagItem(tag) is not null)
            {
                activity.SetTag(tag, null);
            }
        }
    }
}
