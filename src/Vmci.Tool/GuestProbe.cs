using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel;

namespace Vmci.Tool;

/// <summary>
/// How the gateway's <c>/api/guests</c> looks at one guest: <c>GET /healthz</c>, headers only (any HTTP answer means
/// the guest's server is up), at most one probe at a time, and the answer kept for a moment. A guest may be hostile:
/// an endless or huge body is never read, nor drained, and a page that asks in a loop shares the probe in flight.
/// </summary>
internal sealed class GuestProbe : IDisposable
{
    /// <summary>How long an answer is given again without asking the guest: the index page asks once per load.</summary>
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(2);

    private readonly GatewayGuest _guest;
    private readonly HttpClient _client;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Task<GuestState>? _last;
    private long _lastEnded;

    public GuestProbe(GatewayGuest guest, VmciConnectionFactoryOptions connect, TimeSpan timeout, TimeProvider time)
    {
        _guest = guest;
        _time = time;
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            // Headers only, and small: the response is disposed unread, and its connection closed rather than drained.
            MaxResponseHeadersLength = 16,
            MaxResponseDrainSize = 0,
            ConnectCallback = VmciHttp.ConnectTo(guest.EndPoint, connect),
        })
        {
            Timeout = timeout,
        };
    }

    /// <summary>The guest's state: the probe in flight, the last answer while fresh, or a new probe.</summary>
    public Task<GuestState> StateAsync()
    {
        lock (_gate)
        {
            if (_last is null || (_last.IsCompleted && _time.GetElapsedTime(Volatile.Read(ref _lastEnded)) >= Fresh))
            {
                _last = ProbeAsync();
            }

            return _last;
        }
    }

    private async Task<GuestState> ProbeAsync()
    {
        try
        {
            // The Host is the guest's origin, as the browser's requests through the gateway have it.
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{_guest.Label}.localhost/healthz");
            using HttpResponseMessage response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            return new GuestState(_guest.Label, _guest.Cid, Reachable: true, $"/healthz answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return new GuestState(_guest.Label, _guest.Cid, Reachable: false, ex.InnerException?.Message ?? ex.Message);
        }
        finally
        {
            Volatile.Write(ref _lastEnded, _time.GetTimestamp());
        }
    }

    public void Dispose() => _client.Dispose();
}
