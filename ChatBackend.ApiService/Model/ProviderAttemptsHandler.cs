
namespace ChatBackend.ApiService.Model;

// Records each attempt in the turn's ProviderAttempts: whether the provider answered, failed, or is being waited on.
internal sealed class ProviderAttemptsHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempts = ProviderAttempts.Current;
        attempts?.Started();
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            attempts?.Ended(response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}");
            return response;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            attempts?.Ended(exception.GetType().Name);
            throw;
        }
    }
}
