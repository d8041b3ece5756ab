using System.Globalization;

namespace ChatBackend.ApiService.Apis;

/// <summary>The rules of the numbers that come in a query string, each error naming its parameter.</summary>
public static class QueryParameters
{
    /// <summary>A user_id of at least 1; null (with an error) when absent or malformed.</summary>
    public static long? RequireUserId(string? raw, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            errors[FieldNames.UserId] = ["The user_id field is required."];
            return null;
        }
        return OptionalUserId(raw, errors);
    }

    /// <summary>A user_id of at least 1 when given; null when absent (no error) or malformed (an error).</summary>
    public static long? OptionalUserId(string? raw, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }
        if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var userId) && userId >= 1)
        {
            return userId;
        }
        errors[FieldNames.UserId] = ["The user_id field must be a whole number of at least 1."];
        return null;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, or <paramref name="absent"/>.</summary>
    public static int? Range(string? raw, string name, int min, int max, int? absent, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return absent;
        }
        if (int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        errors[name] = [$"The {name} parameter must be a whole number from {min} to {max}."];
        return null;
    }
}
